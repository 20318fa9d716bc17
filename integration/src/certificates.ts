import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A certificate and its key, as PEM file paths and contents. */
export interface CertificateFiles {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

/** A throwaway certificate authority that signs test certificates with openssl. */
export class TestCa {
  private serial = 1;

  private constructor(
    readonly dir: string,
    readonly name: string,
    readonly certFile: string,
    private readonly keyFile: string,
  ) {}

  /** Creates a self-signed CA (EC P-256) in `dir/name`. */
  static async create(dir: string, name: string): Promise<TestCa> {
    const home = join(dir, name);
    await mkdir(join(home, "issued"), { recursive: true });
    const certFile = join(home, "ca.crt");
    const keyFile = join(home, "ca.key");
    await openssl(["req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-keyout", keyFile, "-out", certFile, "-days", "2", "-subj", `/CN=${name}`]);
    return new TestCa(home, name, certFile, keyFile);
  }

  /** Reads the CA certificate (PEM). */
  cert(): Promise<Buffer> {
    return readFile(this.certFile);
  }

  /**
   * Issues a certificate for `commonName` with the given subject alternative
   * names ("DNS:localhost", "IP:127.0.0.1", "URI:spiffe://..."). By default it
   * is valid from now for two days; `expired` makes it valid only in 2020.
   */
  async issue(commonName: string, options: { sans?: string[]; usage: "server" | "client"; expired?: boolean }): Promise<CertificateFiles> {
    const base = join(this.dir, "issued", `${this.serial}-${commonName.replace(/[^A-Za-z0-9_.-]/g, "_")}`);
    const keyFile = `${base}.key`;
    const csrFile = `${base}.csr`;
    const certFile = `${base}.crt`;
    const extFile = `${base}.ext`;
    await openssl(["req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-keyout", keyFile, "-out", csrFile, "-subj", `/CN=${commonName}`]);

    const extensions = [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
      `extendedKeyUsage=${options.usage === "server" ? "serverAuth" : "clientAuth"}`,
      ...(options.sans?.length ? [`subjectAltName=${options.sans.join(",")}`] : []),
    ];
    await writeFile(extFile, `[ext]\n${extensions.join("\n")}\n`);

    if (options.expired) {
      await this.signWithDates(csrFile, certFile, extFile, "20200101000000Z", "20200201000000Z");
    } else {
      await openssl(["x509", "-req", "-in", csrFile, "-CA", this.certFile, "-CAkey", this.keyFile, "-set_serial", String(this.serial++), "-days", "2", "-extfile", extFile, "-extensions", "ext", "-out", certFile]);
    }
    return { certFile, keyFile, cert: await readFile(certFile), key: await readFile(keyFile) };
  }

  /** `openssl x509 -req` in OpenSSL 3.0 cannot set past dates, so `openssl ca` signs these, with a minimal database. */
  private async signWithDates(csrFile: string, certFile: string, extFile: string, start: string, end: string): Promise<void> {
    const database = join(this.dir, "index.txt");
    const config = join(this.dir, "ca.cnf");
    await writeFile(database, "");
    await writeFile(join(this.dir, "serial"), `${(1000 + this.serial++).toString(16).padStart(4, "0")}\n`);
    await writeFile(
      config,
      [
        "[ca]",
        "default_ca = test_ca",
        "[test_ca]",
        `database = ${database}`,
        `new_certs_dir = ${join(this.dir, "issued")}`,
        `certificate = ${this.certFile}`,
        `private_key = ${this.keyFile}`,
        `serial = ${join(this.dir, "serial")}`,
        "default_md = sha256",
        "policy = any_policy",
        "unique_subject = no",
        "[any_policy]",
        "commonName = supplied",
        "",
      ].join("\n"),
    );
    await openssl(["ca", "-batch", "-notext", "-config", config, "-in", csrFile, "-out", certFile, "-startdate", start, "-enddate", end, "-extfile", extFile, "-extensions", "ext"]);
  }
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? "";
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || (error as Error).message}`);
  }
}
