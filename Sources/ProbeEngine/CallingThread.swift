import CProbe

/// Kernel-visible attributes of the calling thread (CProbe's thread_attrs.c).
public enum CallingThread {
    /// Names the thread as `ps -L`, `top -H` and perf show it (at most 15 bytes); 0, or a
    /// negative errno.
    @discardableResult
    public static func setName(_ name: String) -> Int32 { cprobe_name_thread(name) }

    /// Asks for a scheduling slice of `nanoseconds` (Linux 6.12+ EEVDF; older kernels ignore
    /// it); 0, or a negative errno.
    @discardableResult
    public static func requestSlice(nanoseconds: UInt64) -> Int32 { cprobe_set_thread_slice(nanoseconds) }
}
