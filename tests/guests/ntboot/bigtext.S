/*
 * bigtext.S: several MB of distinct code for drvbig.sys. BigSum(x) adds a
 * different constant per instruction, 600000 of them (3.6 MB), so every
 * page of the section differs and all of it runs.
 */
	.text
	.globl BigSum
BigSum:
	mov %rcx, %rax
	.set i, 1
	.rept 600000
	add $((i * 2654435761) & 0x7fffffff), %rax
	.set i, i + 1
	.endr
	ret
