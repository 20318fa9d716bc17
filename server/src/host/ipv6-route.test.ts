import assert from "node:assert/strict";

import { formatSubnet } from "../networks/ip";
import { parseAutoconfiguredRoutes } from "./ipv6-route";

// A sandbox namespace after a router advertisement on uplink0 (Linux 6.1): the default route
// and the prefix route carry RTF_ADDRCONF (0x40000), the link-local and local routes do not.
const TABLE = [
  "20010db8000500000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00040001  uplink0",
  "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001  uplink0",
  "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe8000000000000000b8f55efffe3de7 00000400 00000001 00000000 00450003  uplink0",
  "00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000004 00000000 80200001       lo",
  "",
].join("\n");

describe("parseAutoconfiguredRoutes", () => {
  it("keeps only routes with RTF_ADDRCONF", () => {
    const routes = parseAutoconfiguredRoutes(TABLE);

    assert.deepEqual(routes.map((r) => [formatSubnet(r.subnet), r.device]), [
      ["2001:db8:5::/64", "uplink0"],
      ["::/0", "uplink0"],
    ]);
  });

  it("skips malformed lines", () => {
    assert.deepEqual(parseAutoconfiguredRoutes("garbage\n1 2 3"), []);
  });
});
