/* SPDX-License-Identifier: MIT */
/*
 * vfork.c - the vfork() hook: marks the calling thread while a vfork child runs on it, so that
 * the child's hooks (CPython and Java close and dup2 fds between vfork and exec) leave the
 * parent's fd table alone (fdstate.h, shim_fdstate_owner) at the cost of one TLS load instead
 * of a getpid syscall in every close.
 *
 * The child borrows the parent's stack and TLS, and returns first. A C wrapper cannot survive
 * that: the child's later calls overwrite the wrapper's frame, which the parent returns through.
 * So this is the same dance as libc's own vfork: the return address leaves the stack (into this
 * thread's TLS, which only this thread and its vfork child use), the mark is set, the next
 * vfork (libc's, which keeps its own return address in a register) runs, and both come back
 * here: the child keeps the mark and jumps to the caller; the parent, which resumes only once the
 * child has exec'd or exited, clears it and jumps there too. Other threads have their own TLS
 * and are never marked.
 *
 * x86-64 only; elsewhere vfork is not interposed and fdstate checks the pid instead. The jump
 * back (not a ret) would upset a CET shadow stack: this file is built without
 * -fcf-protection, so the library never claims shadow-stack support and glibc never enables it.
 */
#include "../export.h"
#include "../fdstate.h"
#include "../real.h"
#include "../settings.h"

#include <unistd.h>

#if defined(__x86_64__)

__thread void *shim_vfork_return __attribute__((tls_model("initial-exec"), visibility("hidden")));

/* Binds the real symbols if this is the process's first hook, then says whom to call. */
void *shim_vfork_next(void);
__attribute__((visibility("hidden"), used)) void *shim_vfork_next(void)
{
	shim_settings_init();
	return shim_real_vfork();
}

SHIM_EXPORT __attribute__((naked)) pid_t vfork(void)
{
	__asm__("subq $8, %rsp\n\t" /* 16-byte alignment for the call */
		"call shim_vfork_next\n\t"
		"addq $8, %rsp\n\t"
		"movq shim_vfork_return@gottpoff(%rip), %rcx\n\t"
		"popq %fs:(%rcx)\n\t"
		"movq shim_fdstate_vfork_child@gottpoff(%rip), %rcx\n\t"
		"movl $1, %fs:(%rcx)\n\t"
		"call *%rax\n\t"
		"testl %eax, %eax\n\t"
		"jz 1f\n\t" /* the child: keeps the mark */
		"movq shim_fdstate_vfork_child@gottpoff(%rip), %rcx\n\t"
		"movl $0, %fs:(%rcx)\n"
		"1:\n\t"
		"movq shim_vfork_return@gottpoff(%rip), %rcx\n\t"
		"jmpq *%fs:(%rcx)\n\t");
}

#endif
