# SPDX-License-Identifier: Apache-2.0
# Every value on the dashboard is HTML-escaped: a shop name, customer names,
# an email, an offer's last error, a payment's error and flag and a
# PaymentIntent id full of markup appear only escaped (& < > " ' as entities),
# on every page they show up on, and read back as the literal text; query
# string values are never reflected unescaped.
use strict;
use warnings;
use utf8;

use Apache::Test qw(-withtestmore);
use POSIX qw(floor);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Dashboard qw(page tree text iso_at grant cancel_api sms_yes);

plan tests => 81;
# (after plan: Apache::Test's plan sets up Test::More's handles anew)
binmode $_, ':encoding(UTF-8)' for Test::More->builder->output, Test::More->builder->failure_output,
    Test::More->builder->todo_output;

my $SHOP   = q{<i>Tom & "Jerry's"</i> Salon};
my $SCRIPT = '<script>alert(1)</script>';
my $IMG    = q{"><img src=x onerror=alert(2)>};
my $TABLE  = q{</td></tr></table><h1 id="pwned">pwned</h1>};
my $EMAIL  = q{"<svg/onload=alert(3)>"@example.com};
my $ERROR  = q{<img src=x onerror=alert(4)> & 'quoted'};
my $PAYERR = '<script>alert(5)</script>';
my $FLAG   = '<b onmouseover=alert(6)>look</b>';
my $PI     = 'pi_<u>x</u>';

reset_all();

my $shop = make_shop(name => $SHOP, smsFrom => '+15005550301');
grant($shop->{id}, 'owner1');
my $day = floor(time / 86400) * 86400;
my $T1 = $day + 3 * 86400 + 15 * 3600;
my $T2 = $day + 4 * 86400 + 15 * 3600;

my $c_script = make_customer($shop->{id}, name => $SCRIPT, smsOptIn => json_false());
my $c_img = make_customer($shop->{id}, name => $IMG, phone => '+15557773001', email => $EMAIL,
    stripeCustomerId => 'cus_img', stripePaymentMethodId => 'pm_card_visa');
my $c_table = make_customer($shop->{id}, name => $TABLE, phone => '+15557773002');
db_do(q{UPDATE customers SET waitlist_joined_at = now() + interval '1 minute' WHERE id = ?}, $c_table->{id});
is db_row('SELECT email FROM customers WHERE id = ?', $c_img->{id})->{email}, $EMAIL, 'setup: the email is stored as sent';

my $a1 = make_appointment($shop->{id}, $c_script->{id}, startsAt => iso_at($T1), endsAt => iso_at($T1 + 1800));
my $a2 = make_appointment($shop->{id}, $c_script->{id}, startsAt => iso_at($T2), endsAt => iso_at($T2 + 1800));
my $a3 = make_appointment($shop->{id}, $c_table->{id}, startsAt => iso_at($T1), endsAt => iso_at($T1 + 1800));

# S1: <img> customer says YES; S2: offered to the <img> customer again (free
# at T2), then that offer fails with an error full of markup and the
# </table> customer gets the next offer.
my $s1 = cancel_api($a1->{id});
is sms_yes('+15557773001', '+15005550301')->status, 200, 'setup: YES from the <img> customer';
my $booking = db_row('SELECT filled_by_appointment_id AS id FROM slot_openings WHERE id = ?', $s1)->{id};
ok $booking, 'setup: a recovered booking';
db_do('UPDATE payments SET last_error = ?, flagged_reason = ?, stripe_payment_intent_id = ? WHERE appointment_id = ?',
    $PAYERR, $FLAG, $PI, $booking);
my $s2 = cancel_api($a2->{id});
db_do(q{UPDATE slot_offers SET last_error = ?, attempts = 3 WHERE slot_opening_id = ?}, $ERROR, $s2);

my %pages = (
    'the list'                  => '/app/appointments',
    'the filtered list'         => '/app/appointments?status=filled',
    'the filled slot opening'   => "/app/slot-openings/$s1",
    'the open slot opening'     => "/app/slot-openings/$s2",
    'the recovered booking'     => "/app/appointments/$booking",
    'the cancelled appointment' => "/app/appointments/$a1->{id}",
    'an ordinary appointment'   => "/app/appointments/$a3->{id}",
    'a 404 page'                => '/app/appointments/987654',
);

# Which hostile values each page shows.
my %shows = (
    'the list'                  => [ $SHOP, $IMG, $TABLE ],
    'the filtered list'         => [ $SHOP ],
    'the filled slot opening'   => [ $SHOP, $SCRIPT, "View booking ($IMG)", $IMG ],
    'the open slot opening'     => [ $SHOP, $SCRIPT, $IMG, $ERROR ],
    'the recovered booking'     => [ $SHOP, $IMG, $EMAIL, $PAYERR, $FLAG, $PI ],
    'the cancelled appointment' => [ $SHOP, $SCRIPT ],
    'an ordinary appointment'   => [ $SHOP, $TABLE ],
    'a 404 page'                => [],
);

for my $name (sort keys %pages) {
    my $r = page(owner1 => $pages{$name});
    ok $r->status == ($name eq 'a 404 page' ? 404 : 200), "$name: " . $r->status or diag $r->dump;
    my $html = $r->{html};
    # The only markup is the page's own: no script, img, svg, i, b, u, h1 id=pwned.
    is_deeply [ $html =~ m{(<(?:script|img|svg|i|b|u)\b[^>]*>|<h1 id=)}gi ], [], "$name: no injected element";
    my $t = tree($r);
    is_deeply [ map { $_->tag } $t->look_down(sub { grep { /^on/i } $_[0]->all_external_attr_names }) ], [],
        "$name: no element with an on... attribute";
    my @texts = all_texts($t);
    for my $value (@{ $shows{$name} }) {
        ok((grep { index($_, $value) >= 0 } @texts), "$name: shows " . short($value) . ' as text')
            or diag explain \@texts;
    }
}

# The exact escaping.
{
    my $r = page(owner1 => '/app/appointments');
    like $r->{html}, qr{<span class="shop">&lt;i&gt;Tom &amp; &#34;Jerry&#39;s&#34;&lt;/i&gt; Salon</span>},
        'shop name: & < > " \' as &amp; &lt; &gt; &#34; &#39;';
    like $r->{html}, qr{<td>&#34;&gt;&lt;img src=x onerror=alert\(2\)&gt;</td>}, 'customer name in a table cell';
    like $r->{html}, qr{<td>&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;h1 id=&#34;pwned&#34;&gt;pwned&lt;/h1&gt;</td>},
        'a name that closes the table stays inside its cell';
    like $r->{html}, qr{<title>Appointments &middot; Slot Recovery</title>}, 'the title';
    my $t = tree($r);
    is scalar(() = $t->look_down(_tag => 'table')), 2, 'still exactly two tables on the list page';
    $t->delete;

    $r = page(owner1 => "/app/slot-openings/$s1");
    like $r->{html}, qr{>#\Q$a1->{id}\E &lt;script&gt;alert\(1\)&lt;/script&gt;</a>},
        'the cancelled appointment\'s customer, escaped inside its link';
    like $r->{html}, qr{>View booking \(&#34;&gt;&lt;img src=x onerror=alert\(2\)&gt;\)</a>},
        'the booked customer, escaped inside "View booking (...)"';

    $r = page(owner1 => "/app/slot-openings/$s2");
    like $r->{html}, qr{<td>&lt;img src=x onerror=alert\(4\)&gt; &amp; &#39;quoted&#39;</td>}, 'the offer\'s last error';

    $r = page(owner1 => "/app/appointments/$booking");
    like $r->{html}, qr{<td>&#34;&lt;svg/onload=alert\(3\)&gt;&#34;\@example\.com</td>}, 'the email';
    like $r->{html}, qr{<td>&lt;script&gt;alert\(5\)&lt;/script&gt;</td>}, 'the payment error';
    like $r->{html}, qr{<td>&lt;b onmouseover=alert\(6\)&gt;look&lt;/b&gt;</td>}, 'the payment flag';
    like $r->{html}, qr{<td>pi_&lt;u&gt;x&lt;/u&gt;</td>}, 'the PaymentIntent id';
}

# Nothing from the query string or the path comes back unescaped.
{
    for my $q ('status=%3Cscript%3Ealert(7)%3C/script%3E', 'from=%22%3E%3Cscript%3Ealert(8)%3C/script%3E',
               'to=2025-01-01%3Cscript%3E', 'page=%3Cscript%3E') {
        my $r = page(owner1 => "/app/appointments?$q");
        is $r->status, 400, "?$q: 400" or diag $r->dump;
        unlike $r->{html}, qr/<script|alert\(/i, '... not reflected';
        $r = page(owner1 => "/app/slot-openings.csv?$q");
        is $r->status, 400, "CSV ?$q: 400" or diag $r->dump;
        unlike $r->{html}, qr/<script|alert\(/i, '... not reflected';
    }
    my $r = page(owner1 => '/app/appointments/%3Cscript%3Ealert(9)%3C%2Fscript%3E');
    is $r->status, 404, 'a path with markup: 404' or diag $r->dump;
    unlike $r->body, qr/<script|alert\(/i, '... not reflected';

    # A valid date is echoed into the form, as a value.
    $r = page(owner1 => '/app/appointments?from=2030-01-02&to=2030-01-03&status=open');
    like $r->{html}, qr{<input type="date" name="from" value="2030-01-02">}, 'a valid "from" is kept in the form';
    like $r->{html}, qr{<option selected>open</option>}, '... and the status';
}

# helpers of this test only (the shared ones: SlotRecovery::Dashboard)

# Every text node of a page, and every attribute value, as the browser reads it.
sub all_texts {
    my ($t) = @_;
    my @out;
    $t->traverse(sub {
        my ($node, $start) = @_;
        if (!ref $node) { push @out, $node; return 1 }
        push @out, text($node) if $start;
        return 1;
    });
    $t->delete;
    return @out;
}

sub short { my $s = shift; length $s > 30 ? substr($s, 0, 27) . '...' : $s }
