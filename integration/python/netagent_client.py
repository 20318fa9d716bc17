#!/usr/bin/python3
"""A small netagent client in Python, built on stubs generated from the protobuf contract.

It shows that the contract serves languages other than TypeScript: Debian's python3-grpcio calls
the agent through stubs from generate_stubs.py. Put the stubs' folder on PYTHONPATH:

    ./generate_stubs.py /tmp/netagent-stubs
    PYTHONPATH=/tmp/netagent-stubs ./netagent_client.py --address unix:///run/netagent/netagent.sock list

Each command prints the response in the proto3 JSON mapping. A call that fails prints
"netagent_client: CODE: message" on stderr and exits with the gRPC status code (3 for
INVALID_ARGUMENT, 5 for NOT_FOUND, 14 for UNAVAILABLE, ...).
"""

import argparse
import sys

import grpc
from google.protobuf import json_format

from netagent.v1 import network_pb2, network_service_pb2, network_service_pb2_grpc

NETWORK_TYPES = {
    "nat": network_pb2.NETWORK_TYPE_NAT,
    "isolated": network_pb2.NETWORK_TYPE_ISOLATED,
    "very-isolated": network_pb2.NETWORK_TYPE_VERY_ISOLATED,
}


def dhcp_range(text: str) -> network_pb2.DhcpRange:
    start, separator, end = text.partition("-")
    if not separator:
        raise argparse.ArgumentTypeError(f"invalid DHCP range {text!r}: use START-END, for example 10.77.0.10-10.77.0.99")
    return network_pb2.DhcpRange(start=start, end=end)


def parse_arguments(argv: list) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Call a netagent agent from Python.")
    parser.add_argument("--address", default="unix:///run/netagent/netagent.sock", help="the agent's gRPC address (default %(default)s)")
    parser.add_argument("--timeout", type=float, default=30.0, help="deadline of the call, in seconds (default %(default)s)")
    commands = parser.add_subparsers(dest="command", required=True)

    create = commands.add_parser("create", help="create and start a network")
    create.add_argument("name")
    create.add_argument("--type", choices=sorted(NETWORK_TYPES), required=True)
    create.add_argument("--host-address", help="the host's address on the bridge, for example 10.77.0.1/24")
    create.add_argument("--dhcp-range", type=dhcp_range, action="append", default=[], help="START-END; repeatable")

    commands.add_parser("list", help="list all networks")

    get = commands.add_parser("get", help="show one network")
    get.add_argument("name")

    delete = commands.add_parser("delete", help="stop and delete a network")
    delete.add_argument("name")
    delete.add_argument("--allow-missing", action="store_true", help="succeed when the network does not exist")
    return parser.parse_args(argv)


def call(stub: network_service_pb2_grpc.NetworkServiceStub, arguments: argparse.Namespace):
    if arguments.command == "create":
        network = network_pb2.Network(name=arguments.name, type=NETWORK_TYPES[arguments.type])
        if arguments.host_address:
            network.ipv4.address = arguments.host_address
            network.ipv4.dhcp_ranges.extend(arguments.dhcp_range)
        return stub.CreateNetwork(network_service_pb2.CreateNetworkRequest(network=network), timeout=arguments.timeout)
    if arguments.command == "list":
        return stub.ListNetworks(network_service_pb2.ListNetworksRequest(), timeout=arguments.timeout)
    if arguments.command == "get":
        return stub.GetNetwork(network_service_pb2.GetNetworkRequest(name=arguments.name), timeout=arguments.timeout)
    request = network_service_pb2.DeleteNetworkRequest(name=arguments.name, allow_missing=arguments.allow_missing)
    return stub.DeleteNetwork(request, timeout=arguments.timeout)


def main(argv: list) -> int:
    arguments = parse_arguments(argv)
    with grpc.insecure_channel(arguments.address) as channel:
        stub = network_service_pb2_grpc.NetworkServiceStub(channel)
        try:
            response = call(stub, arguments)
        except grpc.RpcError as error:
            print(f"netagent_client: {error.code().name}: {error.details()}", file=sys.stderr)
            return error.code().value[0]
    print(json_format.MessageToJson(response))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
