package main

import (
	"context"
	"errors"
)

// Temporary until the helpers land their files; removed before the first push.
func runCatalog(ctx context.Context, s streams, args []string) error { return errors.New("todo") }
func runGen(ctx context.Context, s streams, args []string) error     { return errors.New("todo") }
func runReplay(ctx context.Context, s streams, args []string) error  { return errors.New("todo") }
