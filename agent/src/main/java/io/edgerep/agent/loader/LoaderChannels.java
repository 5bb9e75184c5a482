// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.loader;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.unix.DomainSocketAddress;

/** Channels to the loader sidecar: a unix socket (production) or host:port (tests). */
public final class LoaderChannels {
    private LoaderChannels() {
    }

    /** "unix:/run/edgerep/loader.sock" or "/run/..." for a unix socket; "host:port" otherwise. */
    public static ManagedChannel open(String target) {
        if (target.startsWith("unix:") || target.startsWith("/")) {
            String path = target.startsWith("unix:") ? target.substring("unix:".length()) : target;
            return NettyChannelBuilder.forAddress(new DomainSocketAddress(path))
                    .eventLoopGroup(new EpollEventLoopGroup(1))
                    .channelType(EpollDomainSocketChannel.class).usePlaintext().maxInboundMessageSize(64 << 20).build();
        }
        return NettyChannelBuilder.forTarget(target).usePlaintext().maxInboundMessageSize(64 << 20).build();
    }
}
