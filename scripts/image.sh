#!/usr/bin/env bash
# Builds the agent image from image/Dockerfile (what `make image` calls), after the TypeScript build.
#
# The build context is assembled in a temporary folder: the Dockerfile and entrypoint, this
# machine's Node.js binary, and the agent's compiled code with its production npm packages. The
# base image is $NETAGENT_BASE_IMAGE when set (for example debian:bookworm-slim where the engine
# can pull it). Otherwise it is netagent-base:bookworm, which scripts/base-image.sh creates with
# debootstrap the first time, because the engine on a machine without registry access cannot pull
# one. Later builds reuse the base image and the engine's layer cache, so only the agent's own
# layers are rebuilt.
#
# The engine is the one DOCKER_HOST names. Without DOCKER_HOST, an engine that responds on the default
# socket is used, else netagent's own engine (scripts/engine.sh), which this script starts when it
# does not run and stops again afterwards.
#
# Environment: NETAGENT_IMAGE (the tag to build, default netagent:latest), NETAGENT_BASE_IMAGE,
# DOCKER_HOST. Requires root for debootstrap and for netagent's own engine.
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

readonly IMAGE=${NETAGENT_IMAGE:-netagent:latest}
readonly LOCAL_BASE_IMAGE=netagent-base:bookworm
readonly BASE_IMAGE=${NETAGENT_BASE_IMAGE:-$LOCAL_BASE_IMAGE}
readonly OWN_ENGINE=unix:///run/netagent-docker.sock

started_engine=no
context_dir=""

log() {
  echo "image: $*"
}

die() {
  echo "image: error: $*" >&2
  exit 1
}

clean_up() {
  if [[ -n $context_dir ]]; then
    rm -rf "$context_dir"
  fi
  if [[ $started_engine == yes ]]; then
    scripts/engine.sh stop
  fi
}
trap clean_up EXIT

choose_engine() {
  if [[ -n ${DOCKER_HOST:-} ]]; then
    docker version >/dev/null 2>&1 || die "no container engine responds on DOCKER_HOST=$DOCKER_HOST"
  elif docker version >/dev/null 2>&1; then
    log "using the container engine on docker's default socket"
    return
  else
    export DOCKER_HOST=$OWN_ENGINE
    if ! scripts/engine.sh status >/dev/null; then
      scripts/engine.sh start
      started_engine=yes
    fi
  fi
  log "using the container engine on $DOCKER_HOST"
}

ensure_base_image() {
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    log "base image $BASE_IMAGE is present"
    return
  fi
  # Pulling is left to the caller on purpose: this script sends nothing to a registry.
  [[ $BASE_IMAGE == "$LOCAL_BASE_IMAGE" ]] ||
    die "base image $BASE_IMAGE is missing; pull it with 'docker pull $BASE_IMAGE', or unset NETAGENT_BASE_IMAGE to create $LOCAL_BASE_IMAGE with debootstrap"
  log "base image $BASE_IMAGE is missing; creating it with debootstrap"
  scripts/base-image.sh "$BASE_IMAGE"
}

# Copies what image/Dockerfile expects into the context folder. npm installs only the server's
# production packages there, from the same package-lock.json, so the image carries no build tools.
assemble_context() {
  local app=$context_dir/app package
  cp image/Dockerfile image/entrypoint.sh "$context_dir/"
  chmod 755 "$context_dir/entrypoint.sh"
  cp "$(readlink -f "$(command -v node)")" "$context_dir/node"

  mkdir -p "$app"
  cp package.json package-lock.json "$app/"
  # npm ci checks the lock file against every workspace's package.json, so all of them are copied.
  for package in proto server client integration; do
    mkdir -p "$app/$package"
    cp "$package/package.json" "$app/$package/"
  done
  # The descriptor set is read at run time by server reflection.
  cp -r proto/dist proto/descriptor-set.binpb "$app/proto/"
  cp -r server/dist server/bin "$app/server/"
  find "$app" -name '*.test.js' -o -name '*.test.js.map' -o -name '*.test.d.ts' | xargs -r rm -f
  (cd "$app" && npm ci --omit=dev --workspace server --no-audit --no-fund --loglevel=error) ||
    die "npm ci of the server's production packages failed; its output is above"
}

[[ -f server/dist/main.js && -f proto/dist/index.js ]] || die "the agent is not built; run 'make build' first"
command -v docker >/dev/null || die "the docker client is missing; run scripts/install-deps.sh"

started=$SECONDS
choose_engine
ensure_base_image
context_dir=$(mktemp -d -t netagent-image.XXXXXX)
assemble_context

log "building $IMAGE from $BASE_IMAGE"
# --network host lets apt-get and npm reach their archives from an engine that creates no bridge.
# The legacy builder of Debian's engine (20.10) ignores the CLI's BuildKit default without buildx.
docker build --network host --build-arg "BASE_IMAGE=$BASE_IMAGE" --tag "$IMAGE" "$context_dir" ||
  die "docker build failed; its output is above"
log "built $IMAGE in $((SECONDS - started))s"
