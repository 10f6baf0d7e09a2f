package lidar

import "fmt"

// lzfError is a corrupt-stream error at input byte off.
type lzfError struct {
	off int
	msg string
}

func (e *lzfError) Error() string { return e.msg }

func lzfErr(off int, msg string, args ...any) error {
	return &lzfError{off: off, msg: fmt.Sprintf(msg, args...)}
}

// LZF (Marc Lehmann's liblzf, the compressor of PCD binary_compressed) is a
// byte stream of runs, each led by a control byte c:
//
//	c < 32:  a literal run of c+1 bytes follows;
//	c ≥ 32:  a back reference: length L = c>>5 (if L == 7, L += next byte),
//	         offset O = (c&31)<<8 | next byte; copy L+2 bytes starting
//	         O+1 bytes before the current output end (the copy may overlap
//	         the bytes it produces, which repeats them).

// lzfDecompress decodes src into dst, which must come out exactly full.
// Every read and write is bounds-checked: a corrupt stream is an error
// naming the input offset of the bad run.
func lzfDecompress(dst, src []byte) error {
	ip, op := 0, 0
	for ip < len(src) {
		ctrl := int(src[ip])
		start := ip
		ip++
		if ctrl < 32 {
			n := ctrl + 1
			if ip+n > len(src) {
				return lzfErr(start, "lzf: literal run of %d bytes at input byte %d passes the end of the %d-byte stream", n, start, len(src))
			}
			if op+n > len(dst) {
				return lzfErr(start, "lzf: literal run at input byte %d overflows the %d-byte output", start, len(dst))
			}
			copy(dst[op:], src[ip:ip+n])
			ip += n
			op += n
			continue
		}
		n := ctrl >> 5
		if n == 7 {
			if ip >= len(src) {
				return lzfErr(start, "lzf: back reference at input byte %d is cut short", start)
			}
			n += int(src[ip])
			ip++
		}
		n += 2
		if ip >= len(src) {
			return lzfErr(start, "lzf: back reference at input byte %d is cut short", start)
		}
		ref := op - (ctrl&31)<<8 - int(src[ip]) - 1
		ip++
		if ref < 0 {
			return lzfErr(start, "lzf: back reference at input byte %d points %d bytes before the output start", start, -ref)
		}
		if op+n > len(dst) {
			return lzfErr(start, "lzf: back reference at input byte %d overflows the %d-byte output", start, len(dst))
		}
		if op-ref >= n {
			copy(dst[op:op+n], dst[ref:ref+n])
		} else {
			// Overlapping: each byte may be one this run just wrote.
			for i := 0; i < n; i++ {
				dst[op+i] = dst[ref+i]
			}
		}
		op += n
	}
	if op != len(dst) {
		return lzfErr(len(src), "lzf: stream of %d bytes decodes to %d bytes, header says %d", len(src), op, len(dst))
	}
	return nil
}

const (
	lzfHashLog = 14
	lzfMaxOff  = 1 << 13       // back references reach 8192 bytes
	lzfMaxRef  = (7 + 255) + 2 // longest back reference
	lzfMaxLit  = 32            // longest literal run
)

// lzfCompress appends the LZF encoding of src to dst. It is the greedy
// single-probe scheme of liblzf's lzf_c.c: a hash of the next three bytes
// finds the last position that started with them; a match of at least three
// bytes within reach becomes a back reference, anything else a literal.
func lzfCompress(dst, src []byte) []byte {
	var htab [1 << lzfHashLog]int32 // position+1 of the last occurrence; 0: none
	hash := func(i int) uint32 {
		v := uint32(src[i])<<16 | uint32(src[i+1])<<8 | uint32(src[i+2])
		return (v * 2654435761) >> (32 - lzfHashLog)
	}
	ctrl := len(dst) // index of the pending literal run's control byte
	dst = append(dst, 0)
	lit := 0
	flushLit := func() {
		if lit > 0 {
			dst[ctrl] = byte(lit - 1)
		} else {
			dst = dst[:ctrl] // drop the unused control byte
		}
	}
	ip := 0
	for ip+2 < len(src) {
		h := hash(ip)
		ref := int(htab[h]) - 1
		htab[h] = int32(ip + 1)
		if ref >= 0 && ip-ref <= lzfMaxOff && src[ref] == src[ip] && src[ref+1] == src[ip+1] && src[ref+2] == src[ip+2] {
			maxLen := min(lzfMaxRef, len(src)-ip)
			l := 3
			for l < maxLen && src[ref+l] == src[ip+l] {
				l++
			}
			flushLit()
			off := ip - ref - 1
			if l-2 < 7 {
				dst = append(dst, byte((l-2)<<5|off>>8), byte(off))
			} else {
				dst = append(dst, byte(7<<5|off>>8), byte(l-2-7), byte(off))
			}
			// Index the positions inside the match so that repeats of
			// it are found again (liblzf does the same, cheaply).
			for k := ip + 1; k < ip+l && k+2 < len(src); k++ {
				htab[hash(k)] = int32(k + 1)
			}
			ip += l
			ctrl = len(dst)
			dst = append(dst, 0)
			lit = 0
			continue
		}
		dst = append(dst, src[ip])
		ip++
		if lit++; lit == lzfMaxLit {
			dst[ctrl] = lzfMaxLit - 1
			ctrl = len(dst)
			dst = append(dst, 0)
			lit = 0
		}
	}
	for ; ip < len(src); ip++ {
		dst = append(dst, src[ip])
		if lit++; lit == lzfMaxLit {
			dst[ctrl] = lzfMaxLit - 1
			ctrl = len(dst)
			dst = append(dst, 0)
			lit = 0
		}
	}
	flushLit()
	return dst
}
