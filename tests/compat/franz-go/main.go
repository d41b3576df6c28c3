// The franz-go (kgo + kadm) client program of the compatibility tests: one
// operation per run, a JSON object on stdout, the reason on stderr and exit
// status 1 on failure. tests/compat/driver.py documents the commands.
package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"nocopy/tests/compat/gocli"
)

func main() {
	addr, cmd, args := gocli.Args()
	ctx, cancel := context.WithTimeout(context.Background(), 110*time.Second)
	defer cancel()
	if cmd == "version" {
		gocli.Emit(map[string]string{"version": gocli.ModuleVersion("github.com/twmb/franz-go")})
		return
	}
	if cmd == "produce" {
		produce(ctx, addr, args[0], gocli.Atoi(args[1]), gocli.Atoi(args[2]), gocli.Atoi(args[3]))
		return
	}
	if cmd == "consume" || cmd == "consume_committed" {
		consume(addr, args[0], args[1], gocli.Atoi(args[2]), gocli.Atoi(args[3]), cmd == "consume_committed")
		return
	}
	if cmd == "txn_produce" {
		txnProduce(ctx, addr, args[0], args[1], gocli.Atoi(args[2]), gocli.Atoi(args[3]), args[4] == "commit")
		return
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		gocli.Fail("client: %v", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	switch cmd {
	case "create":
		r, err := adm.CreateTopic(ctx, int32(gocli.Atoi(args[1])), 1, nil, args[0])
		if err == nil {
			err = r.Err
		}
		if err != nil {
			gocli.Fail("create %s: %v", args[0], err)
		}
		gocli.Emit(map[string]any{})
	case "delete":
		r, err := adm.DeleteTopic(ctx, args[0])
		if err == nil {
			err = r.Err
		}
		if err != nil {
			gocli.Fail("delete %s: %v", args[0], err)
		}
		gocli.Emit(map[string]any{})
	case "list":
		td, err := adm.ListTopics(ctx)
		if err != nil {
			gocli.Fail("list: %v", err)
		}
		gocli.Emit(map[string]any{"topics": td.Names()})
	case "describe_topic":
		td, err := adm.ListTopics(ctx, args[0])
		if err != nil {
			gocli.Fail("describe %s: %v", args[0], err)
		}
		t := td[args[0]]
		if t.Err != nil {
			gocli.Fail("describe %s: %v", args[0], t.Err)
		}
		gocli.Emit(map[string]any{"partitions": len(t.Partitions)})
	case "describe_configs":
		rc, err := adm.DescribeTopicConfigs(ctx, args[0])
		if err != nil {
			gocli.Fail("describe configs %s: %v", args[0], err)
		}
		r, err := rc.On(args[0], nil)
		if err == nil {
			err = r.Err
		}
		if err != nil {
			gocli.Fail("describe configs %s: %v", args[0], err)
		}
		cfg := map[string]string{}
		for _, c := range r.Configs {
			cfg[c.Key] = c.MaybeValue()
		}
		gocli.Emit(map[string]any{"configs": cfg})
	case "describe_group":
		gs, err := adm.DescribeGroups(ctx, args[0])
		if err != nil {
			gocli.Fail("describe group %s: %v", args[0], err)
		}
		g, ok := gs[args[0]]
		if !ok {
			gocli.Fail("describe group %s: not in the response", args[0])
		}
		if g.Err != nil {
			gocli.Fail("describe group %s: %v", args[0], g.Err)
		}
		gocli.Emit(map[string]any{"state": g.State, "protocol_type": g.ProtocolType})
	default:
		gocli.Fail("unknown command %q", cmd)
	}
}

// produce sends count records with the default (idempotent) producer,
// acks=all, and waits for every acknowledgement.
func produce(ctx context.Context, addr, topic string, from, count, delayMs int) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordDeliveryTimeout(100*time.Second))
	if err != nil {
		gocli.Fail("client: %v", err)
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
			gocli.Fail("produce: %v", err)
		}
		acked++
	}
	gocli.Emit(map[string]int{"acked": acked})
}

// txnProduce sends count records in one transaction of a transactional
// producer and commits or aborts it.
func txnProduce(ctx context.Context, addr, topic, txnID string, from, count int, commit bool) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic), kgo.TransactionalID(txnID),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordDeliveryTimeout(60*time.Second))
	if err != nil {
		gocli.Fail("client: %v", err)
	}
	defer cl.Close()
	if err := cl.BeginTransaction(); err != nil {
		gocli.Fail("begin transaction: %v", err)
	}
	rs := make([]*kgo.Record, 0, count)
	for i := from; i < from+count; i++ {
		rs = append(rs, &kgo.Record{Key: []byte(fmt.Sprintf("k%d", i%50)), Value: []byte(strconv.Itoa(i))})
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		gocli.Fail("produce: %v", err)
	}
	end := kgo.TryAbort
	if commit {
		end = kgo.TryCommit
	}
	if err := cl.EndTransaction(ctx, end); err != nil {
		gocli.Fail("end transaction (commit %v): %v", commit, err)
	}
	gocli.Emit(map[string]int{"acked": count})
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
		gocli.Fail("client: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(timeoutS)*time.Second)
	defer cancel()
	out := [][]any{}
	for len(out) < count {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			gocli.Fail("consume: %d of %d records after %ds", len(out), count, timeoutS)
		}
		if errs := fs.Errors(); len(errs) > 0 {
			gocli.Fail("consume: %v", errs[0].Err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, []any{r.Partition, r.Offset, string(r.Key), string(r.Value)})
		})
		if err := cl.CommitUncommittedOffsets(ctx); err != nil {
			gocli.Fail("commit: %v", err)
		}
	}
	// Leave the group before exiting so that the next member starts at once.
	cl.LeaveGroup()
	gocli.Emit(map[string]any{"records": out})
}
