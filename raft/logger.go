package raft

import (
	"context"
	"fmt"
	"log/slog"
)

// raftLogger adapts slog to etcd raft's Logger. etcd raft logs state
// transitions at Info and per-message detail at Debug, which matches our
// levels. Fatal and Panic panic: etcd raft calls them only on a broken
// invariant of its own, never on peer input (Decode checks that).
type raftLogger struct {
	l *slog.Logger
}

func (r raftLogger) log(level slog.Level, msg string) {
	r.l.Log(context.Background(), level, msg)
}

func (r raftLogger) enabled(level slog.Level) bool {
	return r.l.Enabled(context.Background(), level)
}

// Debug implements etcdraft.Logger.
func (r raftLogger) Debug(v ...any) {
	if r.enabled(slog.LevelDebug) {
		r.log(slog.LevelDebug, fmt.Sprint(v...))
	}
}

// Debugf implements etcdraft.Logger.
func (r raftLogger) Debugf(format string, v ...any) {
	if r.enabled(slog.LevelDebug) {
		r.log(slog.LevelDebug, fmt.Sprintf(format, v...))
	}
}

// Info implements etcdraft.Logger.
func (r raftLogger) Info(v ...any) { r.log(slog.LevelInfo, fmt.Sprint(v...)) }

// Infof implements etcdraft.Logger.
func (r raftLogger) Infof(format string, v ...any) {
	r.log(slog.LevelInfo, fmt.Sprintf(format, v...))
}

// Warning implements etcdraft.Logger.
func (r raftLogger) Warning(v ...any) { r.log(slog.LevelWarn, fmt.Sprint(v...)) }

// Warningf implements etcdraft.Logger.
func (r raftLogger) Warningf(format string, v ...any) {
	r.log(slog.LevelWarn, fmt.Sprintf(format, v...))
}

// Error implements etcdraft.Logger.
func (r raftLogger) Error(v ...any) { r.log(slog.LevelError, fmt.Sprint(v...)) }

// Errorf implements etcdraft.Logger.
func (r raftLogger) Errorf(format string, v ...any) {
	r.log(slog.LevelError, fmt.Sprintf(format, v...))
}

// Fatal implements etcdraft.Logger.
func (r raftLogger) Fatal(v ...any) { r.Panic(v...) }

// Fatalf implements etcdraft.Logger.
func (r raftLogger) Fatalf(format string, v ...any) { r.Panicf(format, v...) }

// Panic implements etcdraft.Logger.
func (r raftLogger) Panic(v ...any) {
	msg := fmt.Sprint(v...)
	r.log(slog.LevelError, msg)
	panic("raft: " + msg)
}

// Panicf implements etcdraft.Logger.
func (r raftLogger) Panicf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	r.log(slog.LevelError, msg)
	panic("raft: " + msg)
}
