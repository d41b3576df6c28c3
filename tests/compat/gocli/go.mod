module nocopy/tests/compat/gocli

go 1.26.0
