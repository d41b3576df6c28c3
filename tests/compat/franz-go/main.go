// The franz-go (kgo + kadm) client program of the compatibility tests: one
// operation per run, a JSON object on stdout, the reason on stderr and exit
// status 1 on failure. tests/compat/driver.py documents the commands.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
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
			if d.Path == "github.com/twmb/franz-go" {
				return d.Version
			}
		}
	}
	return "unknown"
}

func main() {
	if len(os.Args) < 3 {
		fail("usage: %s <bootstrap> <command> [args]", os.Args[0])
	}
	addr, cmd, args := os.Args[1], os.Args[2], os.Args[3:]
	ctx, cancel := context.WithTimeout(context.Background(), 110*time.Second)
	defer cancel()
	if cmd == "version" {
		emit(map[string]string{"version": version()})
		return
	}
	if cmd == "produce" {
		produce(ctx, addr, args[0], atoi(args[1]), atoi(args[2]), atoi(args[3]))
		return
	}
	if cmd == "consume" || cmd == "consume_committed" {
		consume(addr, args[0], args[1], atoi(args[2]), atoi(args[3]), cmd == "consume_committed")
		return
	}
	if cmd == "txn_produce" {
		txnProduce(ctx, addr, args[0], args[1], atoi(args[2]), atoi(args[3]), args[4] == "commit")
		return
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		fail("client: %v", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	switch cmd {
	case "create":
		r, err := adm.CreateTopic(ctx, int32(atoi(args[1])), 1, nil, args[0])
		if err == nil {
			err = r.Err
		}
		if err != nil {
			fail("create %s: %v", args[0], err)
		}
		emit(map[string]any{})
	case "delete":
		r, err := adm.DeleteTopic(ctx, args[0])
		if err == nil {
			err = r.Err
		}
		if err != nil {
			fail("delete %s: %v", args[0], err)
		}
		emit(map[string]any{})
	case "list":
		td, err := adm.ListTopics(ctx)
		if err != nil {
			fail("list: %v", err)
		}
		emit(map[string]any{"topics": td.Names()})
	case "describe_topic":
		td, err := adm.ListTopics(ctx, args[0])
		if err != nil {
			fail("describe %s: %v", args[0], err)
		}
		t := td[args[0]]
		if t.Err != nil {
			fail("describe %s: %v", args[0], t.Err)
		}
		emit(map[string]any{"partitions": len(t.Partitions)})
	case "describe_configs":
		rc, err := adm.DescribeTopicConfigs(ctx, args[0])
		if err != nil {
			fail("describe configs %s: %v", args[0], err)
		}
		r, err := rc.On(args[0], nil)
		if err == nil {
			err = r.Err
		}
		if err != nil {
			fail("describe configs %s: %v", args[0], err)
		}
		cfg := map[string]string{}
		for _, c := range r.Configs {
			cfg[c.Key] = c.MaybeValue()
		}
		emit(map[string]any{"configs": cfg})
	case "describe_group":
		gs, err := adm.DescribeGroups(ctx, args[0])
		if err != nil {
			fail("describe group %s: %v", args[0], err)
		}
		g, ok := gs[args[0]]
		if !ok {
			fail("describe group %s: not in the response", args[0])
		}
		if g.Err != nil {
			fail("describe group %s: %v", args[0], g.Err)
		}
		emit(map[string]any{"state": g.State, "protocol_type": g.ProtocolType})
	default:
		fail("unknown command %q", cmd)
	}
}

// produce sends count records with the default (idempotent) producer,
// acks=all, and waits for every acknowledgement.
func produce(ctx context.Context, addr, topic string, from, count, delayMs int) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordDeliveryTimeout(100*time.Second))
	if err != nil {
		fail("client: %v", err)
	}
	defer cl.Close()
	errs := make(chan error, count)
	for i := from; i < from+count; i++ {
		r := &kgo.Record{Key: []byte(fmt.Sprintf("k%d", i%50)), Value: []byte(strconv.Itoa(i))}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) { errs <- err })
		if delayMs > 0 && (i-from)%100 == 99 {
			time.Sleep(time.Duration(delayMs) * time.Millisecond)
		}
	}
	acked := 0
	for i := 0; i < count; i++ {
		if err := <-errs; err != nil {
			fail("produce: %v", err)
		}
		acked++
	}
	emit(map[string]int{"acked": acked})
}

// txnProduce sends count records in one transaction of a transactional
// producer and commits or aborts it.
func txnProduce(ctx context.Context, addr, topic, txnID string, from, count int, commit bool) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic), kgo.TransactionalID(txnID),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordDeliveryTimeout(60*time.Second))
	if err != nil {
		fail("client: %v", err)
	}
	defer cl.Close()
	if err := cl.BeginTransaction(); err != nil {
		fail("begin transaction: %v", err)
	}
	rs := make([]*kgo.Record, 0, count)
	for i := from; i < from+count; i++ {
		rs = append(rs, &kgo.Record{Key: []byte(fmt.Sprintf("k%d", i%50)), Value: []byte(strconv.Itoa(i))})
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		fail("produce: %v", err)
	}
	end := kgo.TryAbort
	if commit {
		end = kgo.TryCommit
	}
	if err := cl.EndTransaction(ctx, end); err != nil {
		fail("end transaction (commit %v): %v", commit, err)
	}
	emit(map[string]int{"acked": count})
}

// consume joins the group, commits after every poll and stops once it has
// at least count records; readCommitted sets isolation level read_committed.
func consume(addr, topic, group string, count, timeoutS int, readCommitted bool) {
	isolation := kgo.ReadUncommitted()
	if readCommitted {
		isolation = kgo.ReadCommitted()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumerGroup(group),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(),
		kgo.FetchIsolationLevel(isolation))
	if err != nil {
		fail("client: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(timeoutS)*time.Second)
	defer cancel()
	out := [][]any{}
	for len(out) < count {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			fail("consume: %d of %d records after %ds", len(out), count, timeoutS)
		}
		if errs := fs.Errors(); len(errs) > 0 {
			fail("consume: %v", errs[0].Err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, []any{r.Partition, r.Offset, string(r.Key), string(r.Value)})
		})
		if err := cl.CommitUncommittedOffsets(ctx); err != nil {
			fail("commit: %v", err)
		}
	}
	// Leave the group before exiting so that the next member starts at once.
	cl.LeaveGroup()
	emit(map[string]any{"records": out})
}
