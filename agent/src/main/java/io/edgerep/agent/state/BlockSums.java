// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;

import com.google.protobuf.ByteString;

/** Per-block checksums of a file: SHA-256 truncated to 16 bytes, one per block in order. */
public final class BlockSums {
    /** Default resync block size. */
    public static final int DEFAULT_BLOCK_SIZE = 64 * 1024;
    /** Bytes kept of each SHA-256. */
    static final int SUM_BYTES = 16;

    private BlockSums() {
    }

    public static List<ByteString> of(Path file, int blockSize) throws IOException {
        List<ByteString> out = new ArrayList<>();
        MessageDigest md = sha256();
        ByteBuffer buf = ByteBuffer.allocate(blockSize);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            long pos = 0;
            while (true) {
                buf.clear();
                int n = readFully(ch, buf, pos);
                if (n <= 0) {
                    break;
                }
                md.update(buf.array(), 0, n);
                out.add(ByteString.copyFrom(md.digest(), 0, SUM_BYTES));
                pos += n;
                if (n < blockSize) {
                    break;
                }
            }
        }
        return out;
    }

    public static ByteString of(byte[] data, int off, int len) {
        MessageDigest md = sha256();
        md.update(data, off, len);
        return ByteString.copyFrom(md.digest(), 0, SUM_BYTES);
    }

    /** Reads until the buffer is full or end of file; returns the bytes read. */
    static int readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        int total = 0;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos + total);
            if (n < 0) {
                break;
            }
            total += n;
        }
        return total;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
