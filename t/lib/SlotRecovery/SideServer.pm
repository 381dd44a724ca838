# SPDX-License-Identifier: Apache-2.0
package SlotRecovery::SideServer;

# A throwaway httpd running the module on the suite's database and stand-ins
# (SlotRecovery::Httpd->suite_twin), with directives of the test's own (a small
# SlotRecoveryHttpTimeout, many SlotRecoveryOfferMaxAttempts, ...). Its
# watchdog's sweep and worker run first an hour after the start (unless
# worker_interval says otherwise): the test triggers them itself, with
# POST /api/jobs/sweep and POST /api/jobs/outbox ($side->outbox).
#
#   my $side = SlotRecovery::SideServer->start("SlotRecoveryHttpTimeout 2\n");
#   my $side = SlotRecovery::SideServer->start("", worker_interval => 1);  # a worker that looks every second
#   my $r = $side->api(POST => '/api/jobs/sweep');   # { status, json, body, elapsed }

use strict;
use warnings;

use Carp qw(croak);
use HTTP::Tiny ();
use JSON::PP ();
use Time::HiRes ();

use SlotRecovery::Httpd ();
use SlotRecovery::TestEnv ();

sub start {
    my ($class, $directives, %o) = @_;
    my $h = SlotRecovery::Httpd->suite_twin(sweep_interval => 3600, worker_interval => $o{worker_interval} // 3600,
        body => $directives)->start;
    return bless { h => $h, port => $h->port, ua => HTTP::Tiny->new(timeout => 120, keep_alive => 0) }, $class;
}

sub httpd { $_[0]{h} }
sub base  { $_[0]{h}->url }

# api(METHOD => $path, $data): { status, json, body, elapsed (seconds, client side) }.
sub api {
    my ($self, $method, $path, $data) = @_;
    my $t0 = Time::HiRes::time();
    my $res = $self->{ua}->request($method, $self->base . $path, {
        headers => { 'X-Internal-Secret' => SlotRecovery::TestEnv::get('SR_INTERNAL_SECRET'),
                     'Content-Type' => 'application/json' },
        (defined $data ? (content => JSON::PP->new->encode($data)) : ()),
    });
    my $t1 = Time::HiRes::time();
    return { status => $res->{status}, body => $res->{content}, start => $t0, end => $t1, elapsed => $t1 - $t0,
             json => eval { JSON::PP->new->utf8->decode($res->{content}) } };
}

# One run of the side server's worker (POST /api/jobs/outbox): what the cancels, YES, ... wrote for it.
sub outbox {
    my ($self) = @_;
    my $r = $self->api(POST => '/api/jobs/outbox');
    croak "side server outbox: $r->{status} $r->{body}" unless $r->{status} == 200;
    return $r;
}

sub sweep {
    my ($self) = @_;
    my $r = $self->api(POST => '/api/jobs/sweep');
    croak "side server sweep: $r->{status} $r->{body}" unless $r->{status} == 200;
    return $r;
}

1;
