"""Creates and deletes one network CYCLES times through python3-libvirt.

    create_delete.py URI CYCLES < network.xml

A create defines the network from the XML on stdin, starts it and marks it
autostart. A delete stops (destroys) and undefines it. These are the libvirt
steps of the agent's CreateNetwork and DeleteNetwork. Prints {"cycles":
[{"createMs", "deleteMs"}], "cpuSeconds"} as JSON.
"""

import sys
import time

from common import open_connection, report, silence_libvirt_errors


def main():
    uri, cycles = sys.argv[1], int(sys.argv[2])
    xml = sys.stdin.read()
    silence_libvirt_errors()
    connection = open_connection(uri)

    cpu_started = time.process_time()
    results = []
    for _ in range(cycles):
        before = time.perf_counter_ns()
        network = connection.networkDefineXML(xml)
        network.create()
        network.setAutostart(1)
        created = time.perf_counter_ns()
        network.destroy()
        network.undefine()
        deleted = time.perf_counter_ns()
        results.append({"createMs": (created - before) / 1e6, "deleteMs": (deleted - created) / 1e6})

    report({"cycles": results}, cpu_started)


if __name__ == "__main__":
    main()
