'use strict'
// node admin.js <brokers> create <topic> <partitions>
// node admin.js <brokers> inspect <topic> <group>
// node admin.js <brokers> offsets-by-time <topic> <timestamp_ms>
// node admin.js <brokers> set-offsets <topic> <group> <p>=<offset>,...
// node admin.js <brokers> delete <topic>
//   create: CreateTopics through kafkajs' admin, waiting for leaders.
//   inspect: prints one JSON line with the topic's metadata, its earliest and
//   latest offsets (ListOffsets), the group's committed offsets (OffsetFetch),
//   DescribeGroups and ListGroups, as kafkajs' admin reports them.
//   offsets-by-time: ListOffsets by timestamp.
//   set-offsets: kafkajs' setOffsets (joins the inactive group, commits).
//   delete: DeleteTopics, then the topic list.
const { makeKafka, line, runMain } = require('./common')

runMain(async () => {
  const [brokers, cmd, topic, arg] = process.argv.slice(2)
  const admin = makeKafka(brokers, 'e2e-admin').admin()
  await admin.connect()
  try {
    if (cmd === 'create') {
      const created = await admin.createTopics({
        topics: [{ topic, numPartitions: Number(arg), replicationFactor: 1 }],
        waitForLeaders: true,
        timeout: 10000
      })
      const meta = await admin.fetchTopicMetadata({ topics: [topic] })
      line({ ev: 'created', created, partitions: meta.topics[0].partitions.map(p => p.partitionId).sort() })
    } else if (cmd === 'inspect') {
      const group = arg
      const meta = await admin.fetchTopicMetadata({ topics: [topic] })
      const offsets = await admin.fetchTopicOffsets(topic)
      const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] })
      const described = await admin.describeGroups([group])
      const listed = await admin.listGroups()
      line({
        ev: 'inspect',
        partitions: meta.topics[0].partitions.map(p => ({ id: p.partitionId, leader: p.leader })),
        offsets: offsets.map(o => ({ p: o.partition, low: o.low, high: o.high })),
        committed: committed[0].partitions.map(o => ({ p: o.partition, offset: o.offset })),
        group: described.groups.map(g => ({ id: g.groupId, state: g.state, protocolType: g.protocolType, members: g.members.length })),
        groups: listed.groups.map(g => g.groupId)
      })
    } else if (cmd === 'offsets-by-time') {
      const offsets = await admin.fetchTopicOffsetsByTimestamp(topic, Number(arg))
      line({ ev: 'offsets-by-time', offsets: offsets.map(o => ({ p: o.partition, offset: Number(o.offset) })) })
    } else if (cmd === 'set-offsets') {
      const partitions = process.argv[6].split(',').map(kv => {
        const [p, o] = kv.split('=')
        return { partition: Number(p), offset: o }
      })
      await admin.setOffsets({ groupId: arg, topic, partitions })
      const committed = await admin.fetchOffsets({ groupId: arg, topics: [topic] })
      line({ ev: 'set-offsets', committed: committed[0].partitions.map(o => ({ p: o.partition, offset: Number(o.offset) })) })
    } else if (cmd === 'delete') {
      await admin.deleteTopics({ topics: [topic], timeout: 10000 })
      line({ ev: 'deleted', topics: await admin.listTopics() })
    } else {
      throw new Error('unknown command ' + cmd)
    }
  } finally {
    await admin.disconnect()
  }
})
