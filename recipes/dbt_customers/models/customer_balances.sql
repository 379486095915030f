-- Customers by activity, with how many hold at least the var min_balance.
select
    active,
    count(*) as customers,
    count(*) filter (where balance >= {{ var('min_balance') }}) as large_balances,
    sum(balance) as total_balance
from {{ source('loaded', 'customers') }}
group by active
