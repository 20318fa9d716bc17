"""Reads one network the way the agent's GetNetwork does, through python3-libvirt.

Each call looks the network up by name and reads its XML, autostart flag,
active and persistent state: five libvirt calls, one after the other.

    get_network.py URI NAME sequential CALLS SECONDS WARMUP
    get_network.py URI NAME concurrent CALLS SECONDS WARMUP THREADS CONNECTIONS

Runs WARMUP calls first, then calls until CALLS calls are done or SECONDS
have passed. In concurrent mode THREADS threads share CONNECTIONS
connections; python3-libvirt releases the GIL while it waits for libvirtd.
Prints {"warmupCalls", "calls", "seconds", "latenciesUs", "cpuSeconds"} as JSON; cpuSeconds
covers the measured calls only.
"""

import sys
import threading
import time

from common import open_connection, report, silence_libvirt_errors


def get_network(connection, name):
    network = connection.networkLookupByName(name)
    return (network.XMLDesc(0), network.autostart(), network.isActive(), network.isPersistent())


def run_sequential(connection, name, calls, seconds):
    latencies = []
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    while len(latencies) < calls and time.perf_counter() < deadline:
        before = time.perf_counter_ns()
        get_network(connection, name)
        latencies.append((time.perf_counter_ns() - before) / 1000)
    return latencies, time.perf_counter() - started


def run_concurrent(connections, name, calls, seconds, threads):
    latencies = []
    claimed = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(connection):
        while time.perf_counter() < deadline:
            with lock:
                if claimed[0] >= calls:
                    return
                claimed[0] += 1
            before = time.perf_counter_ns()
            get_network(connection, name)
            # list.append is atomic under the GIL.
            latencies.append((time.perf_counter_ns() - before) / 1000)

    workers = [threading.Thread(target=worker, args=(connections[i % len(connections)],)) for i in range(threads)]
    started = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return latencies, time.perf_counter() - started


def main():
    uri, name, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    calls, seconds, warmup = int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
    silence_libvirt_errors()

    if mode == "sequential":
        connection = open_connection(uri)
        warmed, _ = run_sequential(connection, name, warmup, seconds)
        cpu_started = time.process_time()
        latencies, elapsed = run_sequential(connection, name, calls, seconds)
    elif mode == "concurrent":
        threads, connection_count = int(sys.argv[7]), int(sys.argv[8])
        connections = [open_connection(uri) for _ in range(connection_count)]
        warmed, _ = run_concurrent(connections, name, warmup, seconds, threads)
        cpu_started = time.process_time()
        latencies, elapsed = run_concurrent(connections, name, calls, seconds, threads)
    else:
        sys.exit(f"invalid mode {mode!r}: use sequential or concurrent")

    report({"warmupCalls": len(warmed), "calls": len(latencies), "seconds": elapsed, "latenciesUs": latencies}, cpu_started)


if __name__ == "__main__":
    main()
