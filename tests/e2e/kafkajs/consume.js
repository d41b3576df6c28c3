'use strict'
// node consume.js <brokers> <topic> <group> <name> [max_bytes] [auto]
// One kafkajs group member. For every batch it prints the batch's messages
// ({"ev":"batch"}), then commits offset lastOffset+1 synchronously
// ({"ev":"committed"}). Each group join prints {"ev":"join"} with the
// assignment. Reading "stop" on stdin (or stdin closing) disconnects the
// consumer (LeaveGroup) and prints {"ev":"stopped"}. max_bytes sets the
// fetch size limits (total and per partition) far below one batch, so that
// every Fetch answer ends in a truncated batch or holds one oversized batch
// (0: kafkajs' defaults). "auto" uses kafkajs' most common configuration
// instead: eachMessage with autoCommit (every 100 messages or 1 s), printing
// each message as a batch of one and no "committed" lines.
const readline = require('readline')
const { makeKafka, line, runMain } = require('./common')

function hex (b) { return Buffer.isBuffer(b) ? b.toString('hex') : null }

function encodeHeaders (h) {
  const out = {}
  for (const k of Object.keys(h || {})) {
    out[k] = Array.isArray(h[k]) ? h[k].map(hex) : hex(h[k])
  }
  return out
}

runMain(async () => {
  const [brokers, topic, group, name, maxBytes, mode] = process.argv.slice(2)
  const limits = Number(maxBytes) ? { maxBytes: Number(maxBytes), maxBytesPerPartition: Number(maxBytes) } : {}
  const consumer = makeKafka(brokers, 'e2e-' + name).consumer({
    groupId: group,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
    rebalanceTimeout: 10000,
    maxWaitTimeInMs: 200,
    ...limits
  })
  const { GROUP_JOIN, CRASH } = consumer.events
  consumer.on(GROUP_JOIN, e => line({ ev: 'join', member: e.payload.memberId, leader: e.payload.isLeader, assign: e.payload.memberAssignment }))
  consumer.on(CRASH, e => line({ ev: 'crash', error: String(e.payload.error && e.payload.error.message), restart: e.payload.restart }))

  let stopping = false
  const stopped = new Promise(resolve => {
    const rl = readline.createInterface({ input: process.stdin })
    rl.on('line', l => { if (l.trim() === 'stop') resolve() })
    rl.on('close', resolve)
  })

  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  const auto = {
    autoCommit: true,
    autoCommitThreshold: 100,
    autoCommitInterval: 1000,
    eachMessage: async ({ partition, message: m }) => {
      if (stopping) return
      line({ ev: 'batch', p: partition, stale: false, msgs: [[Number(m.offset), m.key && m.key.toString(), m.value && m.value.toString(), m.timestamp, encodeHeaders(m.headers)]] })
    }
  }
  await consumer.run(mode === 'auto' ? auto : {
    autoCommit: false,
    eachBatch: async ({ batch, isStale }) => {
      if (stopping || batch.messages.length === 0) return
      line({
        ev: 'batch',
        p: batch.partition,
        stale: isStale(),
        msgs: batch.messages.map(m => [Number(m.offset), m.key && m.key.toString(), m.value && m.value.toString(), m.timestamp, encodeHeaders(m.headers)])
      })
      const next = String(Number(batch.lastOffset()) + 1)
      await consumer.commitOffsets([{ topic, partition: batch.partition, offset: next }])
      line({ ev: 'committed', p: batch.partition, offset: Number(next) })
    }
  })
  line({ ev: 'running' })
  await stopped
  stopping = true
  await consumer.disconnect()
  line({ ev: 'stopped' })
})
