import assert from "node:assert/strict";

import { parseDomainNics } from "./domain-xml";

const RUNNING_GUEST = `<domain type='qemu' id='3'>
  <name>guest</name>
  <devices>
    <disk type='file' device='disk'><target dev='vda' bus='virtio'/><alias name='virtio-disk0'/></disk>
    <interface type='network'>
      <mac address='52:54:00:AA:bb:01'/>
      <source network='lab' portid='2f1c' bridge='na-lab'/>
      <target dev='vnet0'/>
      <model type='virtio'/>
      <alias name='net0'/>
    </interface>
    <interface type='bridge'>
      <mac address='52:54:00:aa:bb:02'/>
      <source bridge='br0'/>
      <alias name='ua-uplink'/>
    </interface>
    <interface type='bridge'>
      <mac address='52:54:00:aa:bb:04'/>
      <source network='lan' portid='9a0e' bridge='br0'/>
      <alias name='net1'/>
    </interface>
    <interface type='network'>
      <mac address='52:54:00:aa:bb:03'/>
      <source network='other'/>
    </interface>
  </devices>
</domain>`;

describe("parseDomainNics", () => {
  it("lists aliased interfaces with MAC and network", () => {
    assert.deepEqual(parseDomainNics(RUNNING_GUEST), [
      { alias: "net0", mac: "52:54:00:aa:bb:01", network: "lab" },
      { alias: "ua-uplink", mac: "52:54:00:aa:bb:02", network: undefined },
      { alias: "net1", mac: "52:54:00:aa:bb:04", network: "lan" },
    ]);
  });

  it("returns nothing for a domain without devices", () => {
    assert.deepEqual(parseDomainNics("<domain type='qemu'><name>empty</name></domain>"), []);
  });

  it("rejects a document without a domain", () => {
    assert.throws(() => parseDomainNics("<network><name>lab</name></network>"), /without a <domain> element/);
  });
});
