package msgconv

import "unsafe"

// unsafeString views b as a string for the duration of a call that does not
// keep it.
func unsafeString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
