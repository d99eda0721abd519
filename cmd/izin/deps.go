package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/izin/izin/consent"
	"github.com/izin/izin/consent/postgres"
	"github.com/izin/izin/queue"
)

// openStore connects to PostgreSQL, creating the database when it does not
// exist yet, and applies pending migrations under an advisory lock.
func openStore(ctx context.Context, c Config, log *slog.Logger, loc *time.Location) (*postgres.Store, *pgxpool.Pool, error) {
	created, err := postgres.CreateDatabase(ctx, c.DatabaseURL)
	if err != nil {
		return nil, nil, fmt.Errorf("database: %w", err)
	}
	if created {
		log.Info("database created")
	}
	pc, err := pgxpool.ParseConfig(c.DatabaseURL)
	if err != nil {
		return nil, nil, fmt.Errorf("database_url: %w", err)
	}
	if pc.MaxConns < 8 {
		pc.MaxConns = 8
	}
	postgres.ConfigurePool(pc)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, nil, fmt.Errorf("database: %w", err)
	}
	if _, err := postgres.Migrate(ctx, pool, log); err != nil {
		pool.Close()
		return nil, nil, err
	}
	store := postgres.New(pool, postgres.Options{
		Location: loc,
		Policy: consent.ConfirmPolicy{
			ProviderRefusals:      c.Confirmations.ProviderRefusals,
			ProviderNonElectronic: c.Confirmations.ProviderNonElectronic,
		},
	})
	return store, pool, nil
}

func openQueue(c Config, log *slog.Logger) (*queue.Queue, *redis.Client, error) {
	opt, err := redis.ParseURL(c.RedisURL)
	if err != nil {
		return nil, nil, fmt.Errorf("redis_url: %w", err)
	}
	// Short timeouts: an intake adapter must answer its peer "retry later"
	// quickly when Redis is gone, not hang.
	opt.DialTimeout = 2 * time.Second
	opt.ReadTimeout = 3 * time.Second
	opt.WriteTimeout = 3 * time.Second
	opt.PoolSize = 32
	opt.DialerRetries = 1
	opt.MaxRetries = 1
	rdb := redis.NewClient(opt)
	q := queue.New(rdb, queue.Config{
		Stream:        c.Queue.Stream,
		Group:         c.Queue.Group,
		MaxDeliveries: int64(c.Queue.MaxDeliveries),
		ClaimIdle:     c.Queue.ClaimIdle.Duration,
	}, log)
	return q, rdb, nil
}

func location(c Config) (*time.Location, error) {
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return nil, fmt.Errorf("timezone: %w", err)
	}
	return loc, nil
}

// tokenKey is secrets.token_key, or a key generated once and kept in the
// database so every node signs with the same one.
func tokenKey(ctx context.Context, c Config, store *postgres.Store) ([]byte, error) {
	if c.Secrets.TokenKey != "" {
		return []byte(c.Secrets.TokenKey), nil
	}
	v, err := store.Setting(ctx, "token_key", func() (string, error) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		return hex.EncodeToString(b), nil
	})
	if err != nil {
		return nil, fmt.Errorf("token key: %w", err)
	}
	return []byte(v), nil
}
