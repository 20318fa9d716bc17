import assert from "node:assert/strict";

import { parseDhcpHost, parseDnsHost, parseForwarder, parseIpv6DhcpHost, parseRange, parseWholeNumber } from "./options";

describe("CLI option parsers", () => {
  it("parse ranges of both families", () => {
    assert.deepEqual(parseRange("10.77.0.100-10.77.0.200"), { start: "10.77.0.100", end: "10.77.0.200" });
    assert.deepEqual(parseRange("2001:db8:1::100-2001:db8:1::1ff"), { start: "2001:db8:1::100", end: "2001:db8:1::1ff" });
    assert.throws(() => parseRange("10.77.0.100"), /invalid --dhcp-range "10\.77\.0\.100": use START-END/);
  });

  it("parse DHCP hosts with and without a name", () => {
    assert.deepEqual(parseDhcpHost("52:54:00:12:34:56,10.77.0.10,web"), { mac: "52:54:00:12:34:56", ip: "10.77.0.10", hostname: "web" });
    assert.deepEqual(parseDhcpHost("52:54:00:12:34:56,10.77.0.10"), { mac: "52:54:00:12:34:56", ip: "10.77.0.10", hostname: "" });
    assert.throws(() => parseDhcpHost("52:54:00:12:34:56"), /use MAC,IP\[,HOSTNAME\]/);
    assert.deepEqual(parseIpv6DhcpHost("web,2001:db8:1::10"), { mac: "", ip: "2001:db8:1::10", hostname: "web" });
  });

  it("parse DNS hosts and forwarders", () => {
    assert.deepEqual(parseDnsHost("10.77.0.20=db,db.lab.example"), { ip: "10.77.0.20", hostnames: ["db", "db.lab.example"] });
    assert.throws(() => parseDnsHost("10.77.0.20"), /use IP=NAME/);
    assert.deepEqual(parseForwarder("192.0.2.53"), { domain: "", address: "192.0.2.53" });
    assert.deepEqual(parseForwarder("corp.example=192.0.2.53"), { domain: "corp.example", address: "192.0.2.53" });
    assert.deepEqual(parseForwarder("corp.example="), { domain: "corp.example", address: "" });
  });

  it("parse bounded whole numbers", () => {
    assert.equal(parseWholeNumber("9000", "--mtu", 68, 65535), 9000);
    assert.throws(() => parseWholeNumber("9k", "--mtu", 68, 65535), /invalid --mtu "9k": use a whole number from 68 to 65535/);
  });
});
