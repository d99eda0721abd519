//go:build tools

package tools

import (
	_ "github.com/gorilla/mux"
	_ "github.com/jackc/pgx/v5"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/redis/go-redis/v9"
	_ "go.yaml.in/yaml/v3"
	_ "github.com/google/uuid"
	_ "golang.org/x/text/unicode/norm"
)
