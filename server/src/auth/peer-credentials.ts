import type * as Koffi from "koffi" with { "resolution-mode": "import" };

// koffi ships CommonJS code with ESM-only type declarations, so the types
// come from an import type and the code from require.
const koffi = require("koffi") as typeof Koffi;

/** The process at the other end of a UNIX socket, as the kernel recorded it at connect time. */
export interface PeerCredentials {
  pid: number;
  uid: number;
  /** The effective group id. */
  gid: number;
  /** Supplementary groups; empty on kernels before Linux 4.13, which lack SO_PEERGROUPS. */
  groups: number[];
}

// Linux values from <asm-generic/socket.h>, the same on x86-64 and arm64.
const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const SO_PEERGROUPS = 59;
const ERANGE = 34;

/** More groups than this raises ERANGE, and the retry asks for the size the kernel reported. */
const INITIAL_GROUP_SLOTS = 64;

// Node has no API for SO_PEERCRED, so libc's getsockopt is called through
// koffi's FFI. It is loaded on first use, so that a platform without a koffi
// build only loses UNIX-socket identities, with the load error as the reason.
type NativeFunction = ReturnType<Koffi.LibraryHandle["func"]>;
let libc: { getPeerCred: NativeFunction; getPeerGroups: NativeFunction } | undefined;

function loadLibc(): NonNullable<typeof libc> {
  if (libc === undefined) {
    const lib = koffi.load("libc.so.6");
    koffi.struct("netagent_ucred", { pid: "int32", uid: "uint32", gid: "uint32" });
    libc = {
      getPeerCred: lib.func("int getsockopt(int fd, int level, int name, _Out_ netagent_ucred *value, _Inout_ uint32_t *length)"),
      getPeerGroups: lib.func("getsockopt", "int", ["int", "int", "int", "void *", koffi.inout(koffi.pointer("uint32_t"))]),
    };
  }
  return libc;
}

/**
 * Reads the credentials of the peer of a connected UNIX socket.
 * @param fd the socket's file descriptor.
 * @throws Error when getsockopt fails or libc cannot be loaded.
 */
export function readPeerCredentials(fd: number): PeerCredentials {
  const { getPeerCred, getPeerGroups } = loadLibc();

  const cred = { pid: 0, uid: 0, gid: 0 };
  if (getPeerCred(fd, SOL_SOCKET, SO_PEERCRED, cred, [12]) !== 0) {
    throw new Error(`getsockopt(SO_PEERCRED) on fd ${fd} failed with errno ${koffi.errno()}`);
  }

  let slots = INITIAL_GROUP_SLOTS;
  for (let attempt = 0; attempt < 2; attempt++) {
    const buffer = new Uint32Array(slots);
    const length = [buffer.byteLength];
    if (getPeerGroups(fd, SOL_SOCKET, SO_PEERGROUPS, buffer, length) === 0) {
      return { ...cred, groups: Array.from(buffer.subarray(0, length[0] / 4)) };
    }
    if (koffi.errno() !== ERANGE) {
      break;
    }
    slots = length[0] / 4;
  }
  return { ...cred, groups: [] };
}
