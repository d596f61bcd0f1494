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
 */
#ifndef WG_REGMAP_H
#define WG_REGMAP_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/codec/dec.h"

enum reg_type { RT_U16, RT_I16, RT_U32, RT_I32, RT_U64, RT_I64, RT_F32, RT_F64 };
enum reg_order { RO_ABCD, RO_CDAB, RO_BADC, RO_DCBA };

/* Registers a value of type t occupies (1, 2 or 4). */
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

/* Raw encoders used by tests and the simulator to serve NaN/inf patterns. */
void regmap_put_f32(float f, enum reg_order o, uint16_t *regs);
void regmap_put_f64(double d, enum reg_order o, uint16_t *regs);

#endif
