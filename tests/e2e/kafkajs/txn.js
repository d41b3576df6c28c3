'use strict'
// node txn.js <brokers> <topic> <count>
// kafkajs transactions: creates <topic> (3 partitions), runs <count>
// transactions of one message per partition (every third aborted), commits
// consumer offsets inside transactions with sendOffsets (one committed, one
// aborted), then reads the topic back with a read_committed consumer (kafkajs'
// default isolation) until it has every committed message. Prints
// {"ev":"txn", committed:{p:[values]}, seen:{p:[values]}, offset:<group offset>}.
const { makeKafka, line, runMain } = require('./common')

runMain(async () => {
  const [brokers, topic, countS] = process.argv.slice(2)
  const count = Number(countS)
  const kafka = makeKafka(brokers, 'e2e-txn')
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true })
  await admin.createTopics({ topics: [{ topic: topic + '-in', numPartitions: 1 }], waitForLeaders: true })

  const producer = kafka.producer({ transactionalId: 'kjs-tx', maxInFlightRequests: 1, idempotent: true })
  await producer.connect()
  const committed = { 0: [], 1: [], 2: [] }
  for (let i = 0; i < count; i++) {
    const tx = await producer.transaction()
    const messages = [0, 1, 2].map(p => ({ partition: p, value: `${i}-${p}` }))
    await tx.send({ topic, messages })
    if (i % 3 === 2) {
      await tx.abort()
    } else {
      await tx.commit()
      for (const p of [0, 1, 2]) committed[p].push(`${i}-${p}`)
    }
  }
  // Offsets inside transactions: the aborted one must not become visible.
  const group = 'kjs-tx-group'
  for (const [offset, commit] of [['10', true], ['20', false]]) {
    const tx = await producer.transaction()
    await tx.send({ topic, messages: [{ partition: 0, value: `offsets-${offset}` }] })
    await tx.sendOffsets({ consumerGroupId: group, topics: [{ topic: topic + '-in', partitions: [{ partition: 0, offset }] }] })
    if (commit) {
      await tx.commit()
      committed[0].push(`offsets-${offset}`)
    } else {
      await tx.abort()
    }
  }
  await producer.disconnect()
  const fetched = await admin.fetchOffsets({ groupId: group, topics: [topic + '-in'] })
  const offset = Number(fetched[0].partitions[0].offset)

  const consumer = kafka.consumer({ groupId: 'kjs-tx-reader' })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const seen = { 0: [], 1: [], 2: [] }
  const want = Object.values(committed).reduce((a, v) => a + v.length, 0)
  let got = 0
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(), 60000)
    consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen[partition].push(message.value.toString())
        if (++got >= want) { clearTimeout(timer); setTimeout(resolve, 500) }
      }
    }).catch(reject)
  })
  await consumer.disconnect()
  await admin.disconnect()
  line({ ev: 'txn', committed, seen, offset })
})
