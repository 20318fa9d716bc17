# netagent's entry points. Every target runs from the repository root; run, deps and test need
# root because they install Debian packages and start libvirtd in a network namespace.

.PHONY: run deps build gen test test-unit test-integration bench clean

# Install dependencies, build, and run the agent in the foreground on unix:///run/netagent/netagent.sock,
# with a sandboxed libvirtd unless one already answers on /run/libvirt/libvirt-sock (Ctrl-C stops both).
run:
	scripts/run.sh

# Install missing Debian packages (libvirt, QEMU, dnsmasq, iptables, nftables, iproute2), run npm ci
# when package-lock.json changed, and build.
deps:
	scripts/install-deps.sh

# Compile every TypeScript package (proto, server, client, integration) into its dist/ folder.
build:
	npx tsc -b

# Lint the protobuf contract and regenerate proto/src/gen and proto/descriptor-set.binpb; commit both.
gen:
	npx buf lint
	npm run gen

# Install and build, then run buf lint, the unit suite and the integration suite; ends with "N passed, N failed".
test:
	scripts/test.sh

# Run only the unit tests, against the last build (run `make build` first).
test-unit:
	npx mocha 'server/dist/**/*.test.js' 'client/dist/**/*.test.js' 'bench/dist/**/*.test.js'

# Run only the integration tests, against the last build; needs root and the Debian packages from `make deps`.
test-integration:
	npx mocha --timeout 120000 'integration/dist/**/*.test.js'

# Install and build, then build the agent image netagent:latest from image/Dockerfile in the container
# engine that DOCKER_HOST names (else netagent's own, started for the build); the first build creates
# a Debian base image with debootstrap.
.PHONY: image
image: deps
	scripts/image.sh

# Install and build, then measure the agent against python3-libvirt, virsh and bare gRPC servers in a
# sandboxed libvirtd (about 5 minutes, as root); prints one pass/fail line per target and rewrites
# docs/benchmarks.md. Not part of `make test`. Options: make bench BENCH_ARGS=--quick (or --help).
bench:
	scripts/install-deps.sh
	node bench/dist/main.js $(BENCH_ARGS)

# Delete build output (dist/ folders and TypeScript's incremental build files); keeps node_modules.
clean:
	npx tsc -b --clean
	rm -rf proto/dist server/dist client/dist integration/dist bench/dist
