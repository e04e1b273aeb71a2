package config

import "runtime"

// numCPU is a variable so tests can pin the core count.
var numCPU = runtime.NumCPU
