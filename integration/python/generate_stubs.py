#!/usr/bin/python3
"""Generate Python stubs for netagent's gRPC contract (proto/netagent/v1/*.proto).

Usage: generate_stubs.py OUT_DIR

Writes netagent/v1/*_pb2.py (messages) and *_pb2_grpc.py (service stubs) into OUT_DIR; put OUT_DIR
on PYTHONPATH to import them. The generator is Debian 12's python3-grpc-tools (grpc_tools 1.14.1),
whose built-in protoc 3.5.1 rejects proto3 `optional` fields, which the contract uses. So buf (the
project's protobuf tool, from node_modules) parses the .proto files into a descriptor set, and
grpc_tools generates from that set. Generators older than protoc 3.12 read an optional field as
the only field of a oneof named after it (a "synthetic oneof"), which has the same wire encoding
and the same HasField() in Python.
"""

import pathlib
import subprocess
import sys
import tempfile

from grpc_tools import protoc

REPOSITORY = pathlib.Path(__file__).resolve().parents[2]
BUF = REPOSITORY / "node_modules" / ".bin" / "buf"


def main() -> int:
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} OUT_DIR", file=sys.stderr)
        return 2
    out_dir = pathlib.Path(sys.argv[1]).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    if not BUF.exists():
        print(f"generate_stubs: error: {BUF} is missing; run 'npm ci' in {REPOSITORY}", file=sys.stderr)
        return 1

    proto_dir = REPOSITORY / "proto"
    files = sorted(str(path.relative_to(proto_dir)) for path in (proto_dir / "netagent").rglob("*.proto"))
    with tempfile.TemporaryDirectory() as work_dir:
        descriptor_set = pathlib.Path(work_dir) / "contract.binpb"
        subprocess.run([str(BUF), "build", "--output", str(descriptor_set)], cwd=REPOSITORY, check=True)
        # protoc.main, unlike `python3 -m grpc_tools.protoc`, adds no -I option, which protoc
        # rejects together with --descriptor_set_in.
        status = protoc.main(
            [
                "protoc",
                f"--descriptor_set_in={descriptor_set}",
                f"--python_out={out_dir}",
                f"--grpc_python_out={out_dir}",
                *files,
            ]
        )
    if status != 0:
        print(f"generate_stubs: error: grpc_tools' protoc failed with status {status}", file=sys.stderr)
        return 1
    print(f"generated stubs for {len(files)} files in {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
