/* tests/unit/arch_pattern_x86_64.S — see arch_test.cpp.
 *
 * void goro_test_switch_pattern(void** save_sp [rdi], void* load_sp [rsi],
 *                               uint64_t seed [rdx], uint64_t out[6] [rcx])
 * Puts seed+0..seed+5 in rbx, rbp, r12, r13, r14, r15, switches with
 * goro_context_switch, and when resumed stores those six registers in out[].
 * The caller's own callee-saved registers are preserved.
 */
#if defined(__x86_64__)
        .text
        .globl  goro_test_switch_pattern
        .type   goro_test_switch_pattern, @function
        .p2align 4
goro_test_switch_pattern:
        .cfi_startproc
        pushq   %rbp
        .cfi_adjust_cfa_offset 8
        pushq   %rbx
        .cfi_adjust_cfa_offset 8
        pushq   %r12
        .cfi_adjust_cfa_offset 8
        pushq   %r13
        .cfi_adjust_cfa_offset 8
        pushq   %r14
        .cfi_adjust_cfa_offset 8
        pushq   %r15
        .cfi_adjust_cfa_offset 8
        pushq   %rcx                    /* out; rsp is now 16-byte aligned */
        .cfi_adjust_cfa_offset 8
        movq    %rdx, %rbx
        leaq    1(%rdx), %rbp
        leaq    2(%rdx), %r12
        leaq    3(%rdx), %r13
        leaq    4(%rdx), %r14
        leaq    5(%rdx), %r15
        call    goro_context_switch
        popq    %rcx
        .cfi_adjust_cfa_offset -8
        movq    %rbx, 0(%rcx)
        movq    %rbp, 8(%rcx)
        movq    %r12, 16(%rcx)
        movq    %r13, 24(%rcx)
        movq    %r14, 32(%rcx)
        movq    %r15, 40(%rcx)
        popq    %r15
        .cfi_adjust_cfa_offset -8
        popq    %r14
        .cfi_adjust_cfa_offset -8
        popq    %r13
        .cfi_adjust_cfa_offset -8
        popq    %r12
        .cfi_adjust_cfa_offset -8
        popq    %rbx
        .cfi_adjust_cfa_offset -8
        popq    %rbp
        .cfi_adjust_cfa_offset -8
        ret
        .cfi_endproc
        .size   goro_test_switch_pattern, .-goro_test_switch_pattern
#endif
        .section .note.GNU-stack,"",@progbits
