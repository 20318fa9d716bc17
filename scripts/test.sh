#!/usr/bin/env bash
# Runs every check and test suite (what `make test` calls):
#
#   1. scripts/install-deps.sh (Debian packages, npm packages, TypeScript build)
#   2. buf lint on the protobuf contract
#   3. unit tests: server/dist, client/dist and bench/dist, *.test.js
#   4. the agent image (scripts/image.sh), in the container engine that DOCKER_HOST names, or else
#      in netagent's own engine (scripts/engine.sh), which this script starts if it does not run
#      and stops at the end
#   5. integration tests: integration/dist, *.test.js, against sandboxed libvirtds and agent
#      containers (needs root)
#
# Each suite prints mocha's usual spec output. The last line is "N passed, N failed", summing the
# mocha tests of both suites plus buf lint and the image build, which count as one test each. A failed mocha hook counts
# as one failure, and a suite that crashed or timed out before reporting counts as one failure.
# Exits non-zero when anything failed or when no test ran.
#
# Environment: NETAGENT_TEST_SUMMARY, a file that also receives the last line (for .ci/run).
set -uo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

# Upper bounds for a whole suite, so that a hung test cannot use up CI's 90 minutes.
readonly UNIT_TIMEOUT=10m
readonly INTEGRATION_TIMEOUT=45m

passed=0
failed=0
mocha_tests_run=0
suite_pid=""
engine_pid=""

# Sandboxes that the integration tests start live in this folder (startSandbox() creates them
# under os.tmpdir()), so cleanup finds exactly the ones this run started.
work_dir=$(mktemp -d -t netagent-test.XXXXXX)
export TMPDIR=$work_dir

# The container suite labels its containers with this value, so cleanup finds exactly this run's.
export NETAGENT_TEST_RUN=${work_dir##*/}
export DOCKER_HOST=${DOCKER_HOST:-unix:///run/netagent-docker.sock}

log() {
  echo "test: $*"
}

# Stops a suite that still runs, then the sandboxes that a crashed, timed-out or interrupted suite
# left running, then deletes the work folder.
clean_up() {
  local marker ticks=0
  if [[ -n $suite_pid ]] && kill -0 "$suite_pid" 2>/dev/null; then
    log "stopping the running suite (timeout pid $suite_pid, which passes SIGTERM on to mocha)"
    kill -TERM "$suite_pid" 2>/dev/null || true
    while kill -0 "$suite_pid" 2>/dev/null && ((ticks < 100)); do
      sleep 0.1
      ticks=$((ticks + 1))
    done
    kill -KILL "$suite_pid" 2>/dev/null || true
  fi
  for marker in "$work_dir"/*/.netagent-sandbox; do
    [[ -e $marker ]] || continue
    log "stopping a sandbox that the tests left running: $(dirname "$marker")"
    scripts/sandbox.sh stop "$(dirname "$marker")" || log "error: could not stop the sandbox in $(dirname "$marker")"
  done
  remove_leftover_containers
  if [[ -n $engine_pid ]]; then
    stop_engine
  fi
  rm -rf "$work_dir"
}

# Removes the containers that a crashed or interrupted container suite left behind.
remove_leftover_containers() {
  local -a ids=()
  docker version >/dev/null 2>&1 || return 0
  mapfile -t ids < <(docker ps --all --quiet --filter "label=org.netagent.test-run=$NETAGENT_TEST_RUN")
  if ((${#ids[@]} > 0)); then
    log "removing containers that the tests left behind: ${ids[*]}"
    docker rm --force "${ids[@]}" >/dev/null || log "error: could not remove containers ${ids[*]}"
  fi
}

# Uses the engine that DOCKER_HOST names when it runs. Otherwise, for netagent's own engine, starts
# it and keeps its PID, so that clean_up stops the engine that this run started and no other.
start_engine() {
  if docker version >/dev/null 2>&1; then
    log "using the container engine on $DOCKER_HOST"
    return 0
  fi
  if [[ $DOCKER_HOST != unix:///run/netagent-docker.sock ]]; then
    log "error: no container engine responds on DOCKER_HOST=$DOCKER_HOST"
    return 1
  fi
  scripts/engine.sh start || return 1
  engine_pid=$(scripts/engine.sh status) || return 1
}

stop_engine() {
  if [[ $(scripts/engine.sh status 2>/dev/null) == "$engine_pid" ]]; then
    scripts/engine.sh stop || log "error: could not stop dockerd (pid $engine_pid)"
  fi
  engine_pid=""
}

# Prints the summary line last and exits with STATUS, or when STATUS is omitted, with 1 if
# anything failed or no mocha test ran and 0 otherwise.
finish() {
  local line="$passed passed, $failed failed" status=${1:-}
  # make passes its own SIGTERM on to this script, so a second signal may follow the first.
  trap '' INT TERM
  clean_up
  trap - EXIT
  if [[ -z $status ]]; then
    status=0
    if ((mocha_tests_run == 0)); then
      log "error: no test ran"
      status=1
    fi
    if ((failed > 0)); then
      status=1
    fi
  fi
  if [[ -n ${NETAGENT_TEST_SUMMARY:-} ]]; then
    echo "$line" >"$NETAGENT_TEST_SUMMARY"
  fi
  echo "$line"
  exit "$status"
}

trap clean_up EXIT
trap 'log "interrupted by SIGINT"; finish 130' INT
trap 'log "interrupted by SIGTERM"; finish 143' TERM

# Runs one mocha suite and adds its counts to the totals.
run_mocha_suite() {
  local name=$1 time_limit=$2
  shift 2
  local summary_file="$work_dir/$name-summary.json" status=0 counts suite_passed suite_failed suite_pending
  log "running the $name suite"

  # mocha runs in the background because bash runs a trap only after its foreground command ends,
  # and a hung suite would otherwise keep Ctrl-C and SIGTERM from stopping this script.
  # --foreground keeps mocha in this script's process group, where .ci/run can stop it. Processes
  # that tests start inside sandboxes are stopped together with their sandbox by clean_up.
  timeout --foreground --kill-after=30s "$time_limit" node_modules/.bin/mocha \
    --reporter scripts/mocha-summary-reporter.js --reporter-option "summary=$summary_file" "$@" &
  suite_pid=$!
  wait "$suite_pid" || status=$?
  suite_pid=""

  if [[ ! -s $summary_file ]]; then
    if ((status == 124 || status == 137)); then
      log "error: the $name suite timed out after $time_limit; its results are lost"
    else
      log "error: the $name suite exited with status $status before reporting any result"
    fi
    failed=$((failed + 1))
    return
  fi

  # JSON written by scripts/mocha-summary-reporter.js: {"passes":N,"failures":N,"pending":N,"tests":N}
  counts=$(node -e 'const s = require(process.argv[1]); console.log(s.passes, s.failures, s.pending)' "$summary_file")
  read -r suite_passed suite_failed suite_pending <<<"$counts"
  log "$name suite: $suite_passed passing, $suite_failed failing, $suite_pending pending"

  passed=$((passed + suite_passed))
  failed=$((failed + suite_failed))
  mocha_tests_run=$((mocha_tests_run + suite_passed + suite_failed))
  if ((status != 0 && suite_failed == 0)); then
    log "error: mocha exited with status $status although no test of the $name suite failed"
    failed=$((failed + 1))
  fi
}

if ! scripts/install-deps.sh; then
  log "error: installing dependencies or building failed, so no test ran"
  failed=$((failed + 1))
  finish
fi

log "running buf lint"
if npx buf lint; then
  passed=$((passed + 1))
else
  log "error: buf lint failed"
  failed=$((failed + 1))
fi

run_mocha_suite unit "$UNIT_TIMEOUT" 'server/dist/**/*.test.js' 'client/dist/**/*.test.js' 'bench/dist/**/*.test.js'

# docker build prints every package that apt installs, so its output is shown only on failure.
log "building the agent image for the container suite"
image_log=$work_dir/image.log
if start_engine && scripts/image.sh >"$image_log" 2>&1; then
  grep -E '^(image|base-image|engine):' "$image_log"
  passed=$((passed + 1))
else
  tail -n 40 "$image_log"
  log "error: the agent image could not be built (the last lines of its output are above); the container suite fails without it"
  failed=$((failed + 1))
fi
run_mocha_suite integration "$INTEGRATION_TIMEOUT" --timeout 120000 'integration/dist/**/*.test.js'

finish
