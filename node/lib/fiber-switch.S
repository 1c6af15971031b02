/* The fiber context switch: save the callee-saved registers on the current
 * stack, store the stack pointer in *from_sp, load to_sp and restore.
 *   void fiber_switch_context(void **from_sp, void *to_sp);
 * A new fiber's stack is prepared by fiber.c so that the first switch into
 * it "returns" into fiber_trampoline with the fiber in a callee-saved
 * register. Only x86-64 (System V) and AArch64 (AAPCS64) are shipped. */

#if defined(__x86_64__)
	.text
	.globl fiber_switch_context
	.type fiber_switch_context, @function
fiber_switch_context:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, (%rdi)
	movq %rsi, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
	.size fiber_switch_context, .-fiber_switch_context

	.globl fiber_trampoline
	.type fiber_trampoline, @function
fiber_trampoline:
	movq %r12, %rdi
	callq *%r13
	ud2
	.size fiber_trampoline, .-fiber_trampoline

#elif defined(__aarch64__)
	.text
	.globl fiber_switch_context
	.type fiber_switch_context, %function
fiber_switch_context:
	sub sp, sp, #160
	stp x19, x20, [sp, #0]
	stp x21, x22, [sp, #16]
	stp x23, x24, [sp, #32]
	stp x25, x26, [sp, #48]
	stp x27, x28, [sp, #64]
	stp x29, x30, [sp, #80]
	stp d8, d9, [sp, #96]
	stp d10, d11, [sp, #112]
	stp d12, d13, [sp, #128]
	stp d14, d15, [sp, #144]
	mov x2, sp
	str x2, [x0]
	mov sp, x1
	ldp x19, x20, [sp, #0]
	ldp x21, x22, [sp, #16]
	ldp x23, x24, [sp, #32]
	ldp x25, x26, [sp, #48]
	ldp x27, x28, [sp, #64]
	ldp x29, x30, [sp, #80]
	ldp d8, d9, [sp, #96]
	ldp d10, d11, [sp, #112]
	ldp d12, d13, [sp, #128]
	ldp d14, d15, [sp, #144]
	add sp, sp, #160
	ret
	.size fiber_switch_context, .-fiber_switch_context

	.globl fiber_trampoline
	.type fiber_trampoline, %function
fiber_trampoline:
	mov x0, x19
	blr x20
	brk #0
	.size fiber_trampoline, .-fiber_trampoline
#else
#error "fibers are implemented for x86-64 and AArch64 only"
#endif

	.section .note.GNU-stack, "", %progbits
