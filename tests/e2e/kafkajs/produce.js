'use strict'
// node produce.js <brokers> <topic> <first> <count> <none|gzip> <per_send> [idempotent]
// Sends messages first..first+count-1 (contents from common.js) with acks=-1,
// per_send messages per send() call, sequentially, so each partition receives
// its keys in index order. Prints {"ev":"produced", ...} with the offsets the
// broker assigned per partition.
const { CompressionTypes, Partitioners } = require('kafkajs')
const { makeKafka, key, value, headers, timestamp, line, runMain } = require('./common')

const CODECS = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP }

runMain(async () => {
  const [brokers, topic, firstS, countS, codec, perSendS, mode] = process.argv.slice(2)
  const first = Number(firstS)
  const count = Number(countS)
  const perSend = Number(perSendS)
  if (!(codec in CODECS)) throw new Error('unknown codec ' + codec)
  const idempotent = mode === 'idempotent'
  const producer = makeKafka(brokers, 'e2e-producer').producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    idempotent,
    maxInFlightRequests: idempotent ? 1 : undefined
  })
  await producer.connect()
  const ranges = {}
  try {
    for (let i = first; i < first + count; i += perSend) {
      const messages = []
      for (let j = i; j < Math.min(i + perSend, first + count); j++) {
        messages.push({ key: key(j), value: value(j), headers: headers(j), timestamp: timestamp(j) })
      }
      const res = await producer.send({ topic, acks: -1, timeout: 10000, compression: CODECS[codec], messages })
      for (const r of res) {
        if (r.errorCode !== 0) throw new Error(`partition ${r.partition}: error ${r.errorCode}`)
        const base = Number(r.baseOffset)
        const rg = ranges[r.partition] || (ranges[r.partition] = { min: base, sends: 0 })
        rg.min = Math.min(rg.min, base)
        rg.sends++
      }
    }
  } finally {
    await producer.disconnect()
  }
  line({ ev: 'produced', first, count, codec, idempotent, ranges })
})
