module http_hello

go 1.19
