// The IBM Sarama client program of the compatibility tests: one operation
// per run, a JSON object on stdout, the reason on stderr and exit status 1
// on failure. tests/compat/driver.py documents the commands.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func emit(v any) {
	if err := json.NewEncoder(os.Stdout).Encode(v); err != nil {
		fail("encode: %v", err)
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fail("not a number: %q", s)
	}
	return n
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/IBM/sarama" {
				return d.Version
			}
		}
	}
	return "unknown"
}

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
	if len(os.Args) < 3 {
		fail("usage: %s <bootstrap> <command> [args]", os.Args[0])
	}
	addr, cmd, args := os.Args[1], os.Args[2], os.Args[3:]
	switch cmd {
	case "version":
		emit(map[string]string{"version": version()})
		return
	case "produce":
		produce(addr, args[0], atoi(args[1]), atoi(args[2]), atoi(args[3]))
		return
	case "consume", "consume_committed":
		consume(addr, args[0], args[1], atoi(args[2]), atoi(args[3]), cmd == "consume_committed")
		return
	case "txn_produce":
		txnProduce(addr, args[0], args[1], atoi(args[2]), atoi(args[3]), args[4] == "commit")
		return
	}
	adm, err := sarama.NewClusterAdmin([]string{addr}, config())
	if err != nil {
		fail("admin: %v", err)
	}
	defer adm.Close()
	switch cmd {
	case "create":
		d := &sarama.TopicDetail{NumPartitions: int32(atoi(args[1])), ReplicationFactor: 1}
		if err := adm.CreateTopic(args[0], d, false); err != nil {
			fail("create %s: %v", args[0], err)
		}
		emit(map[string]any{})
	case "delete":
		if err := adm.DeleteTopic(args[0]); err != nil {
			fail("delete %s: %v", args[0], err)
		}
		emit(map[string]any{})
	case "list":
		ts, err := adm.ListTopics()
		if err != nil {
			fail("list: %v", err)
		}
		names := []string{}
		for n := range ts {
			names = append(names, n)
		}
		emit(map[string]any{"topics": names})
	case "describe_topic":
		md, err := adm.DescribeTopics([]string{args[0]})
		if err != nil {
			fail("describe %s: %v", args[0], err)
		}
		if len(md) != 1 || md[0].Err != sarama.ErrNoError {
			fail("describe %s: %v", args[0], md)
		}
		emit(map[string]any{"partitions": len(md[0].Partitions)})
	case "describe_configs":
		es, err := adm.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: args[0]})
		if err != nil {
			fail("describe configs %s: %v", args[0], err)
		}
		cfg := map[string]string{}
		for _, e := range es {
			cfg[e.Name] = e.Value
		}
		emit(map[string]any{"configs": cfg})
	case "describe_group":
		gs, err := adm.DescribeConsumerGroups([]string{args[0]})
		if err != nil {
			fail("describe group %s: %v", args[0], err)
		}
		if len(gs) != 1 || gs[0].Err != sarama.ErrNoError {
			fail("describe group %s: %v", args[0], gs)
		}
		emit(map[string]any{"state": gs[0].State, "protocol_type": gs[0].ProtocolType})
	default:
		fail("unknown command %q", cmd)
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
		fail("producer: %v", err)
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
			fail("produce: %v", err)
		}
	case <-time.After(110 * time.Second):
		fail("produce: not every record acknowledged within 110 s")
	}
	if err := p.Close(); err != nil {
		fail("producer close: %v", err)
	}
	emit(map[string]int{"acked": count})
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
		fail("producer: %v", err)
	}
	if err := p.BeginTxn(); err != nil {
		fail("begin transaction: %v", err)
	}
	msgs := make([]*sarama.ProducerMessage, 0, count)
	for i := from; i < from+count; i++ {
		msgs = append(msgs, &sarama.ProducerMessage{Topic: topic,
			Key: sarama.StringEncoder(fmt.Sprintf("k%d", i%50)), Value: sarama.StringEncoder(strconv.Itoa(i))})
	}
	if err := p.SendMessages(msgs); err != nil {
		fail("produce: %v", err)
	}
	if commit {
		err = p.CommitTxn()
	} else {
		err = p.AbortTxn()
	}
	if err != nil {
		fail("end transaction (commit %v): %v", commit, err)
	}
	if err := p.Close(); err != nil {
		fail("producer close: %v", err)
	}
	emit(map[string]int{"acked": count})
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
		fail("consumer group: %v", err)
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
			fail("consume: %v", err)
		}
	}
	if err := g.Close(); err != nil {
		fail("close: %v", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.out) < count {
		fail("consume: %d of %d records after %ds", len(h.out), count, timeoutS)
	}
	emit(map[string]any{"records": h.out})
}
