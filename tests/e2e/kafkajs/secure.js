'use strict'
// node secure.js <broker> <ca.pem|-> <mechanism|-> <user> <password> <topic> <count>
// Over SSL (ca.pem given) and/or SASL (mechanism given: plain,
// scram-sha-256, scram-sha-512): produces <count> messages (contents from
// common.js) with acks=-1, then reads them back through a consumer group.
// Prints {"ev":"secure", produced, consumed, ok} or, when the connection or
// the authentication fails, {"ev":"error", error, type} (runMain).
const fs = require('fs')
const { Kafka, logLevel } = require('kafkajs')
const { key, value, line, runMain } = require('./common')

runMain(async () => {
  const [broker, ca, mechanism, username, password, topic, countS] = process.argv.slice(2)
  const count = Number(countS)
  const kafka = new Kafka({
    clientId: 'e2e-secure',
    brokers: [broker],
    ssl: ca === '-' ? false : { ca: [fs.readFileSync(ca, 'utf-8')], servername: 'localhost' },
    sasl: mechanism === '-' ? undefined : { mechanism, username, password },
    connectionTimeout: 5000,
    requestTimeout: 10000,
    logLevel: logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 }
  })
  const producer = kafka.producer({ allowAutoTopicCreation: true })
  await producer.connect()
  const messages = []
  for (let i = 0; i < count; i++) messages.push({ key: key(i), value: value(i) })
  await producer.send({ topic, acks: -1, messages })
  await producer.disconnect()

  const consumer = kafka.consumer({ groupId: 'secure-' + topic, sessionTimeout: 6000, heartbeatInterval: 500 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const got = []
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed only ${got.length} of ${count}`)), 30000)
    consumer.run({
      eachMessage: async ({ message }) => {
        got.push([message.key.toString(), message.value.toString()])
        if (got.length >= count) {
          clearTimeout(timer)
          resolve()
        }
      }
    }).catch(reject)
  })
  await consumer.disconnect()
  const ok = got.every(([k, v], i) => k === key(i) && v === value(i))
  line({ ev: 'secure', produced: count, consumed: got.length, ok })
})
