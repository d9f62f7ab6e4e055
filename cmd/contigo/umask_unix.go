//go:build unix

package main

import "syscall"

// restrictUmask makes every file the process creates from now on private
// to its user (the embedded database's files, backups, keys).
func restrictUmask() { syscall.Umask(0o077) }
