// http_hello: the Go side of bench/http_compare.sh — a net/http server
// (standard library only) that answers every request with "Hello, World!\n",
// like goro's examples/http_hello. GOMAXPROCS comes from the environment.
//
//	go build -o http_hello . && GOMAXPROCS=2 ./http_hello 127.0.0.1:8081
package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"runtime"
)

func main() {
	addr := "127.0.0.1:8080"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "Hello, World!\n")
	})
	fmt.Printf("http_hello (Go): serving http://%s/ on %d processor(s)\n", addr, runtime.GOMAXPROCS(0))
	log.Fatal(http.ListenAndServe(addr, nil))
}
