/*
 * parse_int.h - the parser's state, shared by lex.c (tokens, the parts of
 * words, here-documents) and parse.c (the grammar).  The lexer calls back
 * into the grammar for $(...), <(...) and `...`, which are parsed in place.
 */
#ifndef VIGIL_SHELL_PARSE_INT_H
#define VIGIL_SHELL_PARSE_INT_H

#include "shell_int.h"

enum shx_tok_type {
	T_EOF,
	T_WORD,
	T_NEWLINE,
	T_SEMI,	    /* ; */
	T_AMP,	    /* & */
	T_PIPE,	    /* | */
	T_PIPEAMP,  /* |& */
	T_AND,	    /* && */
	T_OR,	    /* || */
	T_DSEMI,    /* ;; */
	T_SEMIAMP,  /* ;& */
	T_DSEMIAMP, /* ;;& */
	T_LPAREN,
	T_RPAREN,
	T_REDIR,
};

struct shx_tok {
	int type;
	size_t off, end;
	struct shx_word *w; /* T_WORD */
	int op;		    /* T_REDIR: enum shx_rop */
	int fd;		    /* T_REDIR: the descriptor, -1 for the default */
};

struct shx_p {
	struct shx *x;
	const char *s;
	size_t len, pos;
	int nest;
	bool error;
	size_t err_off;
	struct shx_tok tok;
	bool have;
	struct shx_redir_node *pending, *pending_tail; /* here-documents awaiting bodies */
};

/* lex.c */
void shx_p_error(struct shx_p *p, size_t off);
struct shx_tok *shx_peek(struct shx_p *p);
void shx_consume(struct shx_p *p);
/* Whether the token is the unquoted word kw. */
bool shx_tok_is(const struct shx_tok *t, const char *kw);
/* Scans an arithmetic body from p->pos to its closing "))" (close 2) or "]"
 * (close 1, $[...]); returns the word and leaves pos after the closer, or NULL
 * with pos unchanged when there is no such closer. */
struct shx_word *shx_lex_arith(struct shx_p *p, int close);
void shx_heredoc_pending(struct shx_p *p, struct shx_redir_node *r);

/* parse.c */
struct shx_node *shx_parse_list(struct shx_p *p);
/* $( ... ) or <( ... ): parses from p->pos to the closing parenthesis. */
struct shx_node *shx_parse_sub(struct shx_p *p);

#endif /* VIGIL_SHELL_PARSE_INT_H */
