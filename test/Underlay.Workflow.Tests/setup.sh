#!/usr/bin/env bash
# The native-agent test runs the NativeAOT binary.
exec "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/eng/publish-native-cli.sh"
