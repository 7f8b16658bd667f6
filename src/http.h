/*-------------------------------------------------------------------------
 *
 * http.h
 *	  The "pgrepl http" background worker: the health and metrics endpoint.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGREPL_HTTP_H
#define PGREPL_HTTP_H

extern void pgrepl_http_register(void);
extern PGDLLEXPORT void pgrepl_http_main(Datum main_arg) pg_attribute_noreturn();

#endif							/* PGREPL_HTTP_H */
