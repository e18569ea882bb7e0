/* Hexadecimal text. Lowercase is what every hash and key of both networks
 * uses on the wire, so encoding always produces lowercase. Pure, thread-safe. */
#ifndef CC_UTIL_HEX_H
#define CC_UTIL_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The value of one hex digit (either case), or -1. */
int cc_hex_digit(char c);
/* Writes 2*len lowercase hex digits and a NUL to out (2*len+1 bytes). */
void cc_hex_encode(const uint8_t *data, size_t len, char *out);
/* Decodes exactly 2*len hex digits (either case) from hex into out.
 * Returns false, leaving out unspecified, on any non-hex digit. */
bool cc_hex_decode(const char *hex, size_t len, uint8_t *out);
/* True when s holds exactly len characters, all of them 0-9 or a-f. */
bool cc_is_lower_hex(const char *s, size_t len);
/* Turns the hex digits A-F of s into a-f, in place, and nothing else: a
 * key pasted in upper case becomes the one spelling the wire carries,
 * while text that is not hex stays exactly as wrong as it was. */
void cc_hex_lowercase(char *s);

#endif
