'use strict'
// Shared by the kafkajs e2e scripts: one Kafka client per process, logging
// to stderr (stdout carries the JSON lines the python test reads), and the
// deterministic message contents both sides agree on.
const { Kafka, logLevel } = require('kafkajs')

const LEVELS = { debug: logLevel.DEBUG, info: logLevel.INFO, warn: logLevel.WARN, error: logLevel.ERROR }

function stderrLogCreator () {
  return ({ namespace, level, label, log }) => {
    const { message, ...extra } = log
    process.stderr.write(`${new Date().toISOString()} ${label} [${namespace}] ${message} ${JSON.stringify(extra)}\n`)
  }
}

function makeKafka (brokers, clientId) {
  return new Kafka({
    clientId,
    brokers: brokers.split(','),
    connectionTimeout: 5000,
    requestTimeout: 10000,
    logLevel: LEVELS[process.env.KAFKAJS_LOG || 'warn'],
    logCreator: stderrLogCreator,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 }
  })
}

// Message i: key "k<i>", a value whose length varies with i, a timestamp
// derived from i and three headers (one binary, one with a repeated key).
// Timestamps start at T0 (ms), which the python test passes in: recent
// enough that no time-based retention deletes the data mid-test.
const T0 = Number(process.env.NOCOPY_E2E_T0 || Date.now())

function key (i) { return 'k' + String(i).padStart(7, '0') }

function value (i) {
  const body = 'v' + String(i).padStart(7, '0') + '-'
  return body + 'abcdefghijklmnopqrstuvwxyz'.repeat(1 + (i % 7)).slice(0, 20 + (i % 150))
}

function headers (i) {
  return {
    idx: String(i),
    bin: Buffer.from([0, 255, i & 0xff, (i >> 8) & 0xff]),
    multi: ['first-' + i, 'second-' + i]
  }
}

function timestamp (i) { return String(T0 + i) }

function line (obj) { process.stdout.write(JSON.stringify(obj) + '\n') }

// Runs main() and exits non-zero with the error on stderr if it throws.
function runMain (main) {
  main().then(
    () => process.exit(0),
    err => {
      process.stderr.write(`FATAL ${err && err.stack ? err.stack : err}\n`)
      line({ ev: 'error', error: String(err && err.message ? err.message : err), type: err && err.type })
      process.exit(1)
    })
}

module.exports = { makeKafka, key, value, headers, timestamp, line, runMain }
