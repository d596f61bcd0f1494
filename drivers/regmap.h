/*
 * Register decoding: Modbus registers -> exact decimal values, and back (the
 * simulator encodes with the same tables, so both sides agree by construction and
 * the tests check them against hand-written register images).
 *
 * Word/byte orders name the bytes of a 32-bit value A (most significant) to D as
 * they appear on the wire, register by register:
 *   ABCD  big-endian words, big-endian bytes (Modbus default; SDM630)
 *   CDAB  word-swapped ("little-endian word order")
 *   BADC  byte-swapped within each register
 *   DCBA  fully little-endian
 * 16-bit types use the byte order within their register (ABCD/CDAB: AB; BADC/DCBA:
 * BA); 64-bit types extend the same pattern over four registers.
 *
 * RT_BOOL is one coil or discrete input (FC1/FC2). The bus hands bits over as
 * one uint16_t per bit (0 or 1), so a bit is a one-"register" value here and
 * everything downstream (plans, spans, decoding) treats FC1..FC4 alike.
 */
#ifndef WG_REGMAP_H
#define WG_REGMAP_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/base/dec.h"

enum reg_type {
	RT_U16, RT_I16, RT_U32, RT_I32, RT_U64, RT_I64, RT_F32, RT_F64, RT_BOOL
};
enum reg_order { RO_ABCD, RO_CDAB, RO_BADC, RO_DCBA };

/* Registers (bits for RT_BOOL) a value of type t occupies (1, 2 or 4). */
unsigned regmap_words(enum reg_type t);

/* Name <-> enum ("u16", "f32", ...; "ABCD", ...). -EINVAL if unknown. */
int regmap_type_parse(const char *s, enum reg_type *t);
int regmap_order_parse(const char *s, enum reg_order *o);
const char *regmap_type_name(enum reg_type t);
const char *regmap_order_name(enum reg_order o);

/*
 * Decode regs[0 .. regmap_words(t)-1] and multiply by scale.
 * Returns 0; -EDOM for NaN/inf (an invalid reading, not a number); -ERANGE if
 * scaling overflows.
 */
int regmap_decode(const uint16_t *regs, enum reg_type t, enum reg_order o,
    struct dec scale, struct dec *out);

/*
 * The inverse, for simulators: store v / scale as type t into regs.
 * For floats v is rounded to the type; for integers v / scale must be integral
 * and in range. Returns 0, -ERANGE or -EINVAL.
 */
int regmap_encode(struct dec v, enum reg_type t, enum reg_order o,
    struct dec scale, uint16_t *regs);

/*
 * The two halves of regmap_decode(), for decoders that look at the raw bits
 * (not-available markers, bit fields, enums) before they become a number:
 * regmap_gather() reads the value's registers as one big-endian integer (byte
 * A most significant; 16-bit types in the low 16 bits, RT_BOOL in bit 0);
 * regmap_interpret() turns such an integer into an exact decimal (no scale):
 * -EDOM for NaN/inf, -ERANGE for a u64 that has no exact decimal.
 * regmap_scatter() is the inverse of regmap_gather().
 */
uint64_t regmap_gather(const uint16_t *regs, enum reg_type t, enum reg_order o);
void regmap_scatter(uint64_t raw, enum reg_type t, enum reg_order o,
    uint16_t *regs);
int regmap_interpret(uint64_t raw, enum reg_type t, struct dec *out);

/* 1 if t is a signed integer type / a float type, else 0. */
int regmap_is_signed(enum reg_type t);
int regmap_is_float(enum reg_type t);

/*
 * A string of n registers (two bytes each; ABCD/CDAB: first byte in the high
 * half, BADC/DCBA: in the low half, CDAB/DCBA: registers in reverse) into out
 * (outlen >= 2 * n + 1). The string ends at the first NUL; trailing blanks are
 * dropped (devices pad with either). Returns the length, -ENOSPC if out is too
 * small, or -EILSEQ for a byte that is not printable ASCII: identification
 * strings are matched and logged, so anything else means a wrong address.
 */
int regmap_string(const uint16_t *regs, unsigned n, enum reg_order o,
    char *out, size_t outlen);

/* Raw encoders used by tests and the simulator to serve NaN/inf patterns. */
void regmap_put_f32(float f, enum reg_order o, uint16_t *regs);
void regmap_put_f64(double d, enum reg_order o, uint16_t *regs);

#endif
