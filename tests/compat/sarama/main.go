// The IBM Sarama client program of the compatibility tests: one operation
// per run, a JSON object on stdout, the reason on stderr and exit status 1
// on failure. tests/compat/driver.py documents the commands.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"nocopy/tests/compat/gocli"
)

// config is the Kafka protocol level Sarama speaks (it picks request
// versions from it) plus retries long enough to outlast a broker restart.
func config() *sarama.Config {
	c := sarama.NewConfig()
	c.Version = sarama.V3_6_0_0
	c.ClientID = "nocopy-compat-sarama"
	c.Metadata.Retry.Max = 100
	c.Metadata.Retry.Backoff = 250 * time.Millisecond
	return c
}

func main() {
	addr, cmd, args := gocli.Args()
	switch cmd {
	case "version":
		gocli.Emit(map[string]string{"version": gocli.ModuleVersion("github.com/IBM/sarama")})
		return
	case "produce":
		produce(addr, args[0], gocli.Atoi(args[1]), gocli.Atoi(args[2]), gocli.Atoi(args[3]))
		return
	case "consume", "consume_committed":
		consume(addr, args[0], args[1], gocli.Atoi(args[2]), gocli.Atoi(args[3]), cmd == "consume_committed")
		return
	case "txn_produce":
		txnProduce(addr, args[0], args[1], gocli.Atoi(args[2]), gocli.Atoi(args[3]), args[4] == "commit")
		return
	}
	adm, err := sarama.NewClusterAdmin([]string{addr}, config())
	if err != nil {
		gocli.Fail("admin: %v", err)
	}
	defer adm.Close()
	switch cmd {
	case "create":
		d := &sarama.TopicDetail{NumPartitions: int32(gocli.Atoi(args[1])), ReplicationFactor: 1}
		if err := adm.CreateTopic(args[0], d, false); err != nil {
			gocli.Fail("create %s: %v", args[0], err)
		}
		gocli.Emit(map[string]any{})
	case "delete":
		if err := adm.DeleteTopic(args[0]); err != nil {
			gocli.Fail("delete %s: %v", args[0], err)
		}
		gocli.Emit(map[string]any{})
	case "list":
		ts, err := adm.ListTopics()
		if err != nil {
			gocli.Fail("list: %v", err)
		}
		names := []string{}
		for n := range ts {
			names = append(names, n)
		}
		gocli.Emit(map[string]any{"topics": names})
	case "describe_topic":
		md, err := adm.DescribeTopics([]string{args[0]})
		if err != nil {
			gocli.Fail("describe %s: %v", args[0], err)
		}
		if len(md) != 1 || md[0].Err != sarama.ErrNoError {
			gocli.Fail("describe %s: %v", args[0], md)
		}
		gocli.Emit(map[string]any{"partitions": len(md[0].Partitions)})
	case "describe_configs":
		es, err := adm.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: args[0]})
		if err != nil {
			gocli.Fail("describe configs %s: %v", args[0], err)
		}
		cfg := map[string]string{}
		for _, e := range es {
			cfg[e.Name] = e.Value
		}
		gocli.Emit(map[string]any{"configs": cfg})
	case "describe_group":
		gs, err := adm.DescribeConsumerGroups([]string{args[0]})
		if err != nil {
			gocli.Fail("describe group %s: %v", args[0], err)
		}
		if len(gs) != 1 || gs[0].Err != sarama.ErrNoError {
			gocli.Fail("describe group %s: %v", args[0], gs)
		}
		gocli.Emit(map[string]any{"state": gs[0].State, "protocol_type": gs[0].ProtocolType})
	default:
		gocli.Fail("unknown command %q", cmd)
	}
}

// produce sends count records with an idempotent async producer, acks=all,
// and waits for every acknowledgement.
func produce(addr, topic string, from, count, delayMs int) {
	c := config()
	c.Producer.Idempotent = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Return.Successes = true
	c.Producer.Retry.Max = 400
	c.Producer.Retry.Backoff = 250 * time.Millisecond
	c.Net.MaxOpenRequests = 1
	p, err := sarama.NewAsyncProducer([]string{addr}, c)
	if err != nil {
		gocli.Fail("producer: %v", err)
	}
	done := make(chan error)
	go func() {
		var first error
		for i := 0; i < count; i++ {
			select {
			case <-p.Successes():
			case e := <-p.Errors():
				if first == nil {
					first = e.Err
				}
			}
		}
		done <- first
	}()
	for i := from; i < from+count; i++ {
		p.Input() <- &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(fmt.Sprintf("k%d", i%50)),
			Value: sarama.StringEncoder(strconv.Itoa(i))}
		if delayMs > 0 && (i-from)%100 == 99 {
			time.Sleep(time.Duration(delayMs) * time.Millisecond)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			gocli.Fail("produce: %v", err)
		}
	case <-time.After(110 * time.Second):
		gocli.Fail("produce: not every record acknowledged within 110 s")
	}
	if err := p.Close(); err != nil {
		gocli.Fail("producer close: %v", err)
	}
	gocli.Emit(map[string]int{"acked": count})
}

// txnProduce sends count records in one transaction of a transactional
// sync producer and commits or aborts it.
func txnProduce(addr, topic, txnID string, from, count int, commit bool) {
	c := config()
	c.Producer.Idempotent = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Return.Successes = true
	c.Producer.Transaction.ID = txnID
	c.Net.MaxOpenRequests = 1
	p, err := sarama.NewSyncProducer([]string{addr}, c)
	if err != nil {
		gocli.Fail("producer: %v", err)
	}
	if err := p.BeginTxn(); err != nil {
		gocli.Fail("begin transaction: %v", err)
	}
	msgs := make([]*sarama.ProducerMessage, 0, count)
	for i := from; i < from+count; i++ {
		msgs = append(msgs, &sarama.ProducerMessage{Topic: topic,
			Key: sarama.StringEncoder(fmt.Sprintf("k%d", i%50)), Value: sarama.StringEncoder(strconv.Itoa(i))})
	}
	if err := p.SendMessages(msgs); err != nil {
		gocli.Fail("produce: %v", err)
	}
	if commit {
		err = p.CommitTxn()
	} else {
		err = p.AbortTxn()
	}
	if err != nil {
		gocli.Fail("end transaction (commit %v): %v", commit, err)
	}
	if err := p.Close(); err != nil {
		gocli.Fail("producer close: %v", err)
	}
	gocli.Emit(map[string]int{"acked": count})
}

// collector is the group handler: it marks every record it keeps and
// commits every 100 records and when it has count of them.
type collector struct {
	mu     sync.Mutex
	count  int
	out    [][]any
	cancel context.CancelFunc
}

func (c *collector) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (c *collector) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (c *collector) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for m := range claim.Messages() {
		c.mu.Lock()
		if len(c.out) < c.count {
			c.out = append(c.out, []any{m.Partition, m.Offset, string(m.Key), string(m.Value)})
			s.MarkMessage(m, "")
			if len(c.out)%100 == 0 || len(c.out) == c.count {
				s.Commit()
			}
			if len(c.out) == c.count {
				c.cancel()
			}
		}
		c.mu.Unlock()
	}
	return nil
}

func consume(addr, topic, group string, count, timeoutS int, readCommitted bool) {
	c := config()
	if readCommitted {
		c.Consumer.IsolationLevel = sarama.ReadCommitted
	}
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Consumer.Offsets.AutoCommit.Enable = false
	g, err := sarama.NewConsumerGroup([]string{addr}, group, c)
	if err != nil {
		gocli.Fail("consumer group: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(timeoutS)*time.Second)
	defer cancel()
	h := &collector{count: count, cancel: cancel}
	go func() {
		for e := range g.Errors() {
			fmt.Fprintf(os.Stderr, "consumer group: %v\n", e)
		}
	}()
	for ctx.Err() == nil {
		if err := g.Consume(ctx, []string{topic}, h); err != nil && ctx.Err() == nil {
			gocli.Fail("consume: %v", err)
		}
	}
	if err := g.Close(); err != nil {
		gocli.Fail("close: %v", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.out) < count {
		gocli.Fail("consume: %d of %d records after %ds", len(h.out), count, timeoutS)
	}
	gocli.Emit(map[string]any{"records": h.out})
}
