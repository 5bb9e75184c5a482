// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import com.google.protobuf.ByteString;

import io.edgerep.proto.v1.Ack;
import io.edgerep.proto.v1.DirCreate;
import io.edgerep.proto.v1.FileAttrs;
import io.edgerep.proto.v1.FileCreate;
import io.edgerep.proto.v1.FileRename;
import io.edgerep.proto.v1.FileUnlink;
import io.edgerep.proto.v1.FileWrite;
import io.edgerep.proto.v1.ReplicatedOp;
import io.edgerep.proto.v1.StateEvent;

/** Path confinement: a table of hostile op paths, each refused, counted, and nothing written outside. */
class ConfinedRootTest {
    @TempDir
    Path tmp;
    Path root;
    Path outside;
    ConfinedRoot confined;

    @BeforeEach
    void setUp() throws Exception {
        root = Files.createDirectories(tmp.resolve("root"));
        outside = Files.createDirectories(tmp.resolve("outside"));
        Files.createDirectories(root.resolve("data/sub"));
        Files.createDirectories(root.resolve("etc"));
        Files.writeString(root.resolve("etc/passwd"), "container passwd");
        Files.createSymbolicLink(root.resolve("data/abs-etc"), Path.of("/etc")); // container /etc: outside /data
        Files.createSymbolicLink(root.resolve("data/rel-escape"), Path.of("../../../outside")); // host escape
        Files.createSymbolicLink(root.resolve("data/host-abs"), outside); // absolute host path
        Files.createSymbolicLink(root.resolve("data/inside"), Path.of("sub")); // stays inside
        Files.createSymbolicLink(root.resolve("data/inside-abs"), Path.of("/data/sub")); // container-absolute, inside
        Files.createSymbolicLink(root.resolve("data/loop1"), Path.of("loop2"));
        Files.createSymbolicLink(root.resolve("data/loop2"), Path.of("loop1"));
        Files.createSymbolicLink(root.resolve("data/final-out"), Path.of("/etc/passwd"));
        Files.createSymbolicLink(root.resolve("data/up-and-back"), Path.of("../data/sub"));
        Files.createSymbolicLink(root.resolve("data/climb"), Path.of("../../../../../../tmp"));
        confined = new ConfinedRoot(root, List.of("/data"));
    }

    static Stream<Arguments> hostile() {
        return Stream.of(
                Arguments.of("relative", "data/x"),
                Arguments.of("dot-dot relative", "../outside/x"),
                Arguments.of("dot-dot inside path", "/data/../etc/passwd"),
                Arguments.of("dot-dot at end", "/data/sub/.."),
                Arguments.of("absolute outside prefix", "/etc/passwd"),
                Arguments.of("prefix look-alike", "/data2/x"),
                Arguments.of("prefix look-alike suffix", "/database"),
                Arguments.of("root itself", "/"),
                Arguments.of("empty", ""),
                Arguments.of("NUL byte", "/data/x\0/../../etc"),
                Arguments.of("link to container /etc", "/data/abs-etc/passwd"),
                Arguments.of("relative link escaping the root", "/data/rel-escape/x"),
                Arguments.of("link to a host absolute path", "/data/host-abs/x"),
                Arguments.of("link loop", "/data/loop1/x"),
                Arguments.of("final component link outside (followed)", "/data/final-out"),
                Arguments.of("link climbing above the root", "/data/climb/x"),
                Arguments.of("many dot-dots", "/data/sub/../../../../etc/shadow"));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("hostile")
    void refusesHostilePaths(String name, String path) {
        assertThatThrownBy(() -> confined.resolve(path, true)).isInstanceOf(PathRefusedException.class);
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("hostile")
    void applierRefusesCountsAndWritesNothingOutside(String name, String path) throws Exception {
        StateApplier a = new StateApplier("ns/er", "pod", confined);
        Ack ack = Push.resync(7, 0)
                .addOps(op(1, write(path, "pwned"))).addOps(op(2, create(path))).to(a);
        assertThat(ack.getRefusedOps()).isEqualTo(2);
        assertThat(ack.getAppliedSeq()).isEqualTo(2); // refused ops still advance: the stream goes on
        assertThat(Files.readString(root.resolve("etc/passwd"))).isEqualTo("container passwd");
        try (Stream<Path> s = Files.list(outside)) {
            assertThat(s).isEmpty();
        }
        try (Stream<Path> s = Files.walk(tmp)) {
            assertThat(s
                    .filter(p -> p.getFileName().toString().equals("x") || p.getFileName().toString().equals("shadow")))
                    .isEmpty();
        }
    }

    /** The hostile paths an attribute op names; a final link is changed itself, never followed (below). */
    static Stream<Arguments> hostileForAttrs() {
        return hostile().filter(a -> !a.get()[1].equals("/data/final-out"));
    }

    /** chmod, chown and utimes on a hostile path: refused and counted, nothing outside changes its attributes. */
    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("hostileForAttrs")
    void attributesOfHostilePathsAreRefusedAndCounted(String name, String path) throws Exception {
        var passwd = Files.readAttributes(root.resolve("etc/passwd"), "unix:mode,uid,gid,lastModifiedTime");
        var out = Files.readAttributes(outside, "unix:mode,uid,gid,lastModifiedTime");
        StateApplier a = new StateApplier("ns/er", "pod", confined);
        Ack ack = Push.resync(7, 0).addOps(ReplicatedOp.newBuilder().setSeq(1).setAttrs(FileAttrs.newBuilder()
                .setPath(path).setMode(06777).setUid(4242).setGid(4242).setMtimeNs(0).setAtimeNs(0))).to(a);
        assertThat(ack.getRefusedOps()).isEqualTo(1);
        assertThat(ack.getAppliedSeq()).isEqualTo(1);
        assertThat(Files.readAttributes(root.resolve("etc/passwd"), "unix:mode,uid,gid,lastModifiedTime"))
                .isEqualTo(passwd);
        assertThat(Files.readAttributes(outside, "unix:mode,uid,gid,lastModifiedTime")).isEqualTo(out);
    }

    /** Attributes of a link whose target is outside: the link itself takes them (lchown, lutimes), not /etc/passwd. */
    @Test
    void attributesOfALinkToOutsideChangeTheLinkNotItsTarget() throws Exception {
        var passwd = Files.readAttributes(root.resolve("etc/passwd"), "unix:mode,uid,gid,lastModifiedTime");
        StateApplier a = new StateApplier("ns/er", "pod", confined);
        Ack ack = Push.resync(7, 0).addOps(ReplicatedOp.newBuilder().setSeq(1).setAttrs(FileAttrs.newBuilder()
                .setPath("/data/final-out").setUid(4242).setGid(4243).setMtimeNs(1_000_000_000L).setAtimeNs(0)))
                .to(a);
        assertThat(ack.getRefusedOps()).isZero();
        assertThat(ack.getFailedOps()).isZero();
        assertThat(Files.readAttributes(root.resolve("etc/passwd"), "unix:mode,uid,gid,lastModifiedTime"))
                .isEqualTo(passwd);
        var link = Files.readAttributes(root.resolve("data/final-out"), "unix:uid,gid,lastModifiedTime",
                LinkOption.NOFOLLOW_LINKS);
        assertThat(link.get("uid")).isEqualTo(4242);
        assertThat(link.get("gid")).isEqualTo(4243);
        assertThat(link.get("lastModifiedTime")).isEqualTo(java.nio.file.attribute.FileTime.fromMillis(1000));
    }

    /**
     * Owners the replica's node does not know are kept as numbers; times before 1970 and far ahead are applied as they
     * are (as far as the file system holds them: the origin's held the same), never a failed op.
     */
    @Test
    void unknownOwnersAndExtremeTimesAreAppliedAsTheyAre() throws Exception {
        Path f = Files.writeString(root.resolve("data/f"), "x");
        StateApplier a = new StateApplier("ns/er", "pod", confined);
        long past = -2_000_000_000L * 1_000_000_000L; // 1906
        long future = 9_000_000_000L * 1_000_000_000L; // 2255
        Ack ack = Push.resync(7, 0).addOps(ReplicatedOp.newBuilder().setSeq(1).setAttrs(FileAttrs.newBuilder()
                .setPath("/data/f").setMode(0640).setUid(54321).setGid(54322).setMtimeNs(past).setAtimeNs(future)))
                .to(a);
        assertThat(ack.getRefusedOps()).isZero();
        assertThat(ack.getFailedOps()).isZero();
        var have = Files.readAttributes(f, "unix:mode,uid,gid,lastModifiedTime,lastAccessTime");
        assertThat((Integer) have.get("mode") & 07777).isEqualTo(0640);
        assertThat(have.get("uid")).isEqualTo(54321);
        assertThat(have.get("gid")).isEqualTo(54322);
        // what this file system keeps of such times, the origin's kept too: compare with a file set directly
        Path probe = Files.writeString(tmp.resolve("probe"), "x");
        Files.getFileAttributeView(probe, java.nio.file.attribute.BasicFileAttributeView.class).setTimes(
                java.nio.file.attribute.FileTime.from(past, java.util.concurrent.TimeUnit.NANOSECONDS),
                java.nio.file.attribute.FileTime.from(future, java.util.concurrent.TimeUnit.NANOSECONDS), null);
        assertThat(have.get("lastModifiedTime")).isEqualTo(Files.getLastModifiedTime(probe));
        assertThat(have.get("lastAccessTime")).isEqualTo(Files.readAttributes(probe, "lastAccessTime").get(
                "lastAccessTime"));
    }

    /** Lexical membership, as the origin checks every captured path: the plain fast path and the rest agree. */
    @Test
    void isReplicatedIsLexical() {
        ConfinedRoot two = new ConfinedRoot(root, List.of("/data", "/srv/www/"));
        for (String yes : List.of("/data", "/data/f", "/data/a/b/c", "/srv/www", "/srv/www/index.html", "/data//f",
                "/data/./f", "//data/f", "/data/f/", "/data/.")) {
            assertThat(two.isReplicated(yes)).as(yes).isTrue();
        }
        for (String no : List.of("/", "/dat", "/data2/f", "/datax", "/srv", "/srv/wwwx/f", "data/f", "", "/data/../etc",
                "/data/..", "/data/f\0", "/etc/passwd", "/srv/www/../x")) {
            assertThat(two.isReplicated(no)).as(no).isFalse();
        }
    }

    @Test
    void resolvesLinksThatStayInside() throws Exception {
        assertThat(confined.resolve("/data/inside/f", true)).isEqualTo(root.resolve("data/sub/f"));
        assertThat(confined.resolve("/data/inside-abs/f", true)).isEqualTo(root.resolve("data/sub/f"));
        assertThat(confined.resolve("/data/up-and-back/f", true)).isEqualTo(root.resolve("data/sub/f"));
        assertThat(confined.resolve("/data//sub/./f", true)).isEqualTo(root.resolve("data/sub/f"));
        assertThat(confined.resolve("/data/new/deeper/f", true)).isEqualTo(root.resolve("data/new/deeper/f"));
    }

    @Test
    void unlinkAndRenameActOnTheLinkItselfNotItsTarget() throws Exception {
        assertThat(confined.resolve("/data/final-out", false)).isEqualTo(root.resolve("data/final-out"));
        StateApplier a = new StateApplier("ns/er", "pod", confined);
        Ack ack = Push.resync(1, 0)
                .addOps(op(1, StateEvent.newBuilder().setUnlink(FileUnlink.newBuilder().setPath("/data/final-out"))))
                .addOps(op(2, StateEvent.newBuilder()
                        .setRename(FileRename.newBuilder().setFrom("/data/host-abs").setTo("/data/moved-link"))))
                .to(a);
        assertThat(ack.getRefusedOps()).isZero();
        assertThat(ack.getFailedOps()).isZero();
        assertThat(Files.exists(root.resolve("data/final-out"), LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat(Files.readString(root.resolve("etc/passwd"))).isEqualTo("container passwd");
        assertThat(Files.isSymbolicLink(root.resolve("data/moved-link"))).isTrue();
        assertThat(Files.isDirectory(outside)).isTrue();
    }

    @Test
    void renameIntoOrOutOfThePrefixIsRefused() throws Exception {
        Files.writeString(root.resolve("data/f"), "x");
        StateApplier a = new StateApplier("ns/er", "pod", confined);
        Ack ack = Push.resync(1, 0)
                .addOps(op(1,
                        StateEvent.newBuilder().setRename(FileRename.newBuilder().setFrom("/data/f").setTo("/etc/f"))))
                .addOps(op(2, StateEvent.newBuilder()
                        .setRename(FileRename.newBuilder().setFrom("/etc/passwd").setTo("/data/stolen"))))
                .addOps(op(3, StateEvent.newBuilder().setMkdir(DirCreate.newBuilder().setPath("/data/abs-etc/newdir"))))
                .to(a);
        assertThat(ack.getRefusedOps()).isEqualTo(3);
        assertThat(root.resolve("data/f")).exists();
        assertThat(root.resolve("etc/f")).doesNotExist();
        assertThat(root.resolve("data/stolen")).doesNotExist();
        assertThat(root.resolve("etc/newdir")).doesNotExist();
    }

    static ReplicatedOp op(long seq, StateEvent.Builder ev) {
        return ReplicatedOp.newBuilder().setSeq(seq).setEvent(ev).build();
    }

    static StateEvent.Builder write(String path, String data) {
        return StateEvent.newBuilder()
                .setWrite(FileWrite.newBuilder().setPath(path).setData(ByteString.copyFromUtf8(data)));
    }

    static StateEvent.Builder create(String path) {
        return StateEvent.newBuilder().setCreate(FileCreate.newBuilder().setPath(path).setMode(0644).setTruncate(true));
    }
}
