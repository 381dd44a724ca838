# SPDX-License-Identifier: Apache-2.0
# The CSV export (/app/slot-openings.csv) is sent with the same security and
# cache headers as the pages (it had no X-Content-Type-Options: nosniff), and
# is streamed in chunks (keyset pagination, 500 rows a statement) instead of
# being built whole in memory (up to 100,000 rows): a CSV of more rows than
# one chunk has every row once, newest first (ties in created_at broken by
# id, across chunk boundaries), the same cells as the database; and a 40,000
# row export does not grow an httpd child's peak memory (VmHWM).
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Dashboard qw(page grant);

plan tests => 15;

reset_all();

my $TZ = 'Asia/Kolkata';
my $shop = make_shop(name => 'Bulk Export', timezone => $TZ, smsFrom => '+15005550801');
my $big = make_shop(name => 'Bigger Export', timezone => $TZ, smsFrom => '+15005550802');
grant($shop->{id}, 'owner1');
grant($big->{id}, 'owner2');

# $n slot openings in $shop_id: cancelled appointments, alternately open and
# expired; created_at falls in steps of 1.000123 s, 7 rows a step (ties).
sub seed {
    my ($shop_id, $n, $phone) = @_;
    db_do(q{
        WITH c AS (INSERT INTO customers (shop_id, name, phone, sms_opt_in) VALUES (?, 'Bulk Canceller', ?, false)
                   RETURNING id),
        a AS (INSERT INTO appointments (shop_id, customer_id, starts_at, ends_at, status, cancelled_at)
              SELECT ?, c.id, now() + interval '2 days' + g * interval '1 hour',
                     now() + interval '2 days' + g * interval '1 hour' + interval '30 minutes', 'cancelled', now()
                FROM c, generate_series(1, ?) AS g
              RETURNING id, starts_at, ends_at)
        INSERT INTO slot_openings (shop_id, source_appointment_id, starts_at, ends_at, status, expired_at, created_at)
        SELECT ?, a.id, a.starts_at, a.ends_at, CASE WHEN a.id % 2 = 0 THEN 'open' ELSE 'expired' END,
               CASE WHEN a.id % 2 = 0 THEN NULL ELSE now() END,
               timestamptz '2026-01-01 12:00:00+00' - ((row_number() OVER (ORDER BY a.id)) / 7) * interval '1.000123 s'
          FROM a}, $shop_id, $phone, $shop_id, $n, $shop_id);
}

seed($shop->{id}, 1234, '+15557770801');

sub csv_rows {
    my ($body) = @_;
    # No cell of these rows holds a comma, a quote or a line break.
    return map { [ split /,/, $_, -1 ] } split /\r\n/, $body;
}

# --- headers: as the pages ---------------------------------------------------------------
{
    my $page = page(owner1 => '/app/appointments');
    my $r = page(owner1 => '/app/slot-openings.csv');
    is $r->status, 200, 'CSV: 200' or diag $r->dump;
    is $r->header('X-Content-Type-Options'), 'nosniff', '... X-Content-Type-Options: nosniff';
    for my $h ('Cache-Control', 'X-Frame-Options', 'Content-Security-Policy') {
        is $r->header($h), $page->header($h), "... $h as the pages (" . ($page->header($h) // 'none') . ')';
    }
    like $r->content_type, qr{^text/csv; charset=utf-8}, '... still text/csv';
    like $r->header('Content-Disposition') // '', qr{^attachment; filename="slot-openings\.csv"$}, '... an attachment';

    # --- every row once, in order, cells as in the database -----------------------------
    my @rows = csv_rows($r->body);
    my $header = shift @rows;
    is scalar(@rows), 1234, 'CSV of 1,234 slot openings (more than two chunks): 1,234 rows';
    my $want = db()->selectall_arrayref(q{
        SELECT o.id::text, to_char(o.starts_at AT TIME ZONE s.timezone, 'YYYY-MM-DD HH24:MI'),
               to_char(o.ends_at AT TIME ZONE s.timezone, 'YYYY-MM-DD HH24:MI'), o.status,
               to_char(o.created_at AT TIME ZONE s.timezone, 'YYYY-MM-DD HH24:MI'), '0', '', '', '', '', ''
          FROM slot_openings o JOIN shops s ON s.id = o.shop_id
         WHERE o.shop_id = ? ORDER BY o.created_at DESC, o.id DESC}, undef, $shop->{id});
    is_deeply [ map { $_->[0] } @rows ], [ map { $_->[0] } @$want ], '... newest first, ties by id, none twice';
    is_deeply \@rows, $want, '... every cell as in the database';
    is scalar(@$header), 11, '... after the header row';

    # HEAD: the headers, no body.
    my $h = api(HEAD => '/app/slot-openings.csv', undef, no_secret => 1,
        headers => SlotRecovery::Dashboard::auth('owner1'));
    is $h->status, 200, 'HEAD: 200';
    is length($h->body // ''), 0, '... no body';
}

# --- memory: a child's peak does not grow with the rows -------------------------------------
SKIP: {
    my $pidfile = Apache::Test::vars('t_logs') . '/httpd.pid';
    open my $fh, '<', $pidfile or skip "no $pidfile", 2;
    chomp(my $parent = <$fh>);
    my $hwm = sub {
        my %kb;
        for my $status (glob '/proc/[0-9]*/status') {
            open my $s, '<', $status or next;
            my $text = do { local $/; <$s> };
            next unless $text =~ /^PPid:\s+$parent$/m;
            my ($pid) = $status =~ m{/proc/(\d+)/};
            ($kb{$pid}) = $text =~ /^VmHWM:\s+(\d+) kB/m;
        }
        return \%kb;
    };
    seed($big->{id}, 40_000, '+15557770802');
    # Every child warmed up by small exports first (pools, connections, statements).
    page(owner1 => '/app/slot-openings.csv') for 1 .. 12;
    my $before = $hwm->();
    my $r = page(owner2 => '/app/slot-openings.csv');
    my $after = $hwm->();
    my @rows = csv_rows($r->body);
    is scalar(@rows) - 1, 40_000, 'a CSV of 40,000 rows: every row';
    my ($grew) = sort { $b <=> $a } map { ($after->{$_} // 0) - $before->{$_} } keys %$before;
    ok defined $grew && $grew < 4096, 'the export grew no httpd child\'s peak memory by 4 MB or more'
        or diag "peak memory growth: " . ($grew // 'unknown') . " kB (children: " . join(', ', map { "$_: $before->{$_} -> "
            . ($after->{$_} // '?') . ' kB' } sort keys %$before) . ')';
    diag sprintf 'largest growth of a child\'s VmHWM during a 40,000-row export: %d kB (CSV %d bytes)', $grew // -1,
        length $r->body;
}
