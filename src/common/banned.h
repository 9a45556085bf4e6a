/*
 * banned.h - functions vigil's sources must not use (git's banned.h): each
 * has a bounded replacement.  Included last by common.h in src/ so that a
 * use is a compile error, not a review comment.
 *
 *   strcpy, strcat, strncpy, strncat  ->  vg_path / snprintf / vbuf
 *   sprintf, vsprintf                 ->  snprintf, vsnprintf
 *   strtok                            ->  strtok_r or a hand-rolled scan
 *   gets                              ->  never
 */
#ifndef VIGIL_BANNED_H
#define VIGIL_BANNED_H

#define VG_BANNED(func) sorry_##func##_is_banned_use_a_bounded_alternative

#undef strcpy
#define strcpy(x, y) VG_BANNED(strcpy)
#undef strcat
#define strcat(x, y) VG_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) VG_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) VG_BANNED(strncat)
#undef sprintf
#define sprintf(...) VG_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) VG_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) VG_BANNED(strtok)
#undef gets
#define gets(x) VG_BANNED(gets)

#endif
