import assert from "node:assert/strict";

import { InvalidArgumentError } from "../errors";
import { NetworkUpdateCommand, NetworkUpdateSection } from "../libvirt";
import type { NetworkSpecInput } from "./model";
import { applyMask, restartFields, sectionChanges, specToInput } from "./update-plan";
import { validateSpec } from "./validate";

const base: NetworkSpecInput = {
  name: "lab",
  type: "nat",
  ipv4: {
    address: "10.77.0.1/24",
    dhcpRanges: [{ start: "10.77.0.100", end: "10.77.0.199" }],
    dhcpHosts: [{ mac: "52:54:00:00:00:01", ip: "10.77.0.10", hostname: "a" }],
  },
  dns: { hosts: [{ ip: "10.77.0.20", hostnames: ["db"] }] },
};

function spec(input: NetworkSpecInput) {
  return validateSpec(input).spec;
}

describe("applyMask", () => {
  it("takes only the masked fields", () => {
    const requested: NetworkSpecInput = { name: "lab", mtu: 9000, ipv4: { address: "", dhcpRanges: [], dhcpHosts: [] } };

    const merged = applyMask(base, requested, ["mtu"]);

    assert.equal(merged.mtu, 9000);
    assert.deepEqual(merged.ipv4, base.ipv4);
  });

  it("replaces one list inside ipv4", () => {
    const hosts = [{ mac: "52:54:00:00:00:02", ip: "10.77.0.11", hostname: "b" }];

    const merged = applyMask(base, { name: "lab", ipv4: { address: "", dhcpRanges: [], dhcpHosts: hosts } }, ["ipv4.dhcp_hosts"]);

    assert.equal(merged.ipv4?.address, "10.77.0.1/24");
    assert.deepEqual(merged.ipv4?.dhcpHosts, hosts);
    assert.deepEqual(merged.ipv4?.dhcpRanges, base.ipv4?.dhcpRanges);
  });

  it("rejects an empty mask", () => {
    assert.throws(() => applyMask(base, base, []), (error: InvalidArgumentError) => error.violations[0].field === "update_mask" && /^missing/.test(error.violations[0].description));
  });

  it("rejects immutable and unknown paths", () => {
    assert.throws(() => applyMask(base, base, ["type"]), /cannot be changed/);
    assert.throws(() => applyMask(base, base, ["ipv4.nope"]), /unknown path "ipv4\.nope"/);
  });

  it("expands * to every input field", () => {
    const merged = applyMask(base, { name: "lab", type: "nat" }, ["*"]);

    assert.equal(merged.ipv4, undefined);
    assert.equal(merged.dns, undefined);
    assert.equal(merged.type, "nat");
  });
});

describe("restartFields", () => {
  it("finds nothing for live-capable changes", () => {
    const changed = spec({ ...base, ipv4: { ...base.ipv4!, dhcpHosts: [] } });

    assert.deepEqual(restartFields(spec(base), changed), []);
  });

  it("names fields that need a restart", () => {
    const changed = spec({ ...base, mtu: 9000, ipv4: { ...base.ipv4!, address: "10.77.0.2/24" }, ipv6: { address: "2001:db8:1::1/64", dhcpRanges: [] } });

    assert.deepEqual(restartFields(spec(base), changed), ["ipv4.address", "ipv6", "mtu"]);
  });
});

describe("sectionChanges", () => {
  const index = { ipv4: 0 };

  it("adds, modifies and deletes DHCP hosts by MAC, deletions first", () => {
    const to = spec({
      ...base,
      ipv4: {
        ...base.ipv4!,
        dhcpHosts: [
          { mac: "52:54:00:00:00:01", ip: "10.77.0.12", hostname: "a" },
          { mac: "52:54:00:00:00:03", ip: "10.77.0.13", hostname: "c" },
        ],
      },
    });
    const from = spec({ ...base, ipv4: { ...base.ipv4!, dhcpHosts: [...base.ipv4!.dhcpHosts!, { mac: "52:54:00:00:00:02", ip: "10.77.0.11", hostname: "b" }] } });

    const changes = sectionChanges(from, to, index);

    assert.deepEqual(
      changes.map((c) => [c.command, c.section, c.parentIndex, c.xml]),
      [
        [NetworkUpdateCommand.DELETE, NetworkUpdateSection.IP_DHCP_HOST, 0, '<host mac="52:54:00:00:00:02" name="b" ip="10.77.0.11"/>'],
        [NetworkUpdateCommand.MODIFY, NetworkUpdateSection.IP_DHCP_HOST, 0, '<host mac="52:54:00:00:00:01" name="a" ip="10.77.0.12"/>'],
        [NetworkUpdateCommand.ADD_LAST, NetworkUpdateSection.IP_DHCP_HOST, 0, '<host mac="52:54:00:00:00:03" name="c" ip="10.77.0.13"/>'],
      ],
    );
  });

  it("deletes and adds a changed range, since libvirt cannot modify ranges", () => {
    const to = spec({ ...base, ipv4: { ...base.ipv4!, dhcpRanges: [{ start: "10.77.0.100", end: "10.77.0.150" }] } });

    const changes = sectionChanges(spec(base), to, index);

    assert.deepEqual(
      changes.map((c) => [c.command, c.section, c.xml]),
      [
        [NetworkUpdateCommand.DELETE, NetworkUpdateSection.IP_DHCP_RANGE, '<range start="10.77.0.100" end="10.77.0.199"/>'],
        [NetworkUpdateCommand.ADD_LAST, NetworkUpdateSection.IP_DHCP_RANGE, '<range start="10.77.0.100" end="10.77.0.150"/>'],
      ],
    );
  });

  it("changes DNS hosts with parent index -1", () => {
    const to = spec({ ...base, dns: { hosts: [{ ip: "10.77.0.21", hostnames: ["db"] }] } });

    const changes = sectionChanges(spec(base), to, index);

    assert.deepEqual(changes.map((c) => [c.command, c.section, c.parentIndex]), [
      [NetworkUpdateCommand.DELETE, NetworkUpdateSection.DNS_HOST, -1],
      [NetworkUpdateCommand.ADD_LAST, NetworkUpdateSection.DNS_HOST, -1],
    ]);
  });

  it("skips a family whose subnet changes", () => {
    const to = spec({ ...base, ipv4: { address: "10.88.0.1/24", dhcpRanges: [], dhcpHosts: [] } });

    assert.deepEqual(sectionChanges(spec(base), to, index), []);
  });

  it("keys IPv6 hosts by name", () => {
    const v6 = (ip: string) => spec({ ...base, ipv6: { address: "2001:db8:1::1/64", dhcpRanges: [], dhcpHosts: [{ ip, hostname: "web" }] } });

    const changes = sectionChanges(v6("2001:db8:1::5"), v6("2001:db8:1::6"), { ipv4: 0, ipv6: 1 });

    assert.deepEqual(changes.map((c) => [c.command, c.parentIndex, c.xml]), [[NetworkUpdateCommand.MODIFY, 1, '<host name="web" ip="2001:db8:1::6"/>']]);
  });
});

describe("specToInput", () => {
  it("round-trips through validateSpec", () => {
    const original = spec(base);

    assert.deepEqual(spec(specToInput(original)), original);
  });
});
